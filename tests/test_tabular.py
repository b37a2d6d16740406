"Embedding-size rules, the tabular pipeline end to end on a CSV, and the results of recipe_nb/06_tabular_embeddings."
import json
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import TabularPandas, Categorify, FillMissing, Normalize, tabular_learner, emb_sz_rule
from nnrecipe.tabular import (emb_sz_half, recipe_emb_szs, compare_emb_rules, fair_affairs, load_table, tabular_dls,
                              tabular_metrics, fit_emb_rule, FAIR_CATS, FAIR_CONTS)
from nnrecipe.history import load_history

def test_emb_sz_half_edges():
    assert [emb_sz_half(n) for n in (1, 2, 3, 100, 101, 10_000)] == [1, 1, 1, 50, 50, 50]
    assert [emb_sz_half(n) for n in (4, 5, 98, 99, 102)] == [2, 2, 49, 49, 50]
    assert all(1 <= emb_sz_half(n) <= min(50, max(1, n)) for n in range(1, 2000))
    with pytest.raises(ValueError, match='below 1'): emb_sz_half(0)
    with pytest.raises(TypeError, match='whole number'): emb_sz_half(3.0)
    with pytest.raises(TypeError, match='whole number'): emb_sz_half(True)

def _toy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(dict(shop=[f's{i}' for i in rng.integers(0, 9, n)], colour=rng.choice(['red', 'blue', None], n),
                           x=rng.normal(size=n)))
    df['y'] = (df.x + (df.shop == 's3') > 0.5)
    return df

def test_na_is_counted_and_fastai_builds_it():
    to = TabularPandas(_toy(), [Categorify, FillMissing, Normalize], ['shop', 'colour'], ['x'], 'y')
    assert list(to.classes['colour']) == ['#na#', 'blue', 'red']       # 2 values + #na#
    assert len(to.classes['shop']) == 10                                # 9 values + #na#
    assert recipe_emb_szs(to) == dict(shop=5, colour=1)
    learn = tabular_learner(to.dataloaders(bs=32), emb_szs=recipe_emb_szs(to))
    assert [(e.num_embeddings, e.embedding_dim) for e in learn.model.embeds] == [(10, 5), (3, 1)]

def test_compare_emb_rules_table():
    t = compare_emb_rules({'a': 2, 'b': 37, 'c': 10_000})
    assert t.columns.tolist() == ['column', 'cardinality', 'half_rule', 'fastai_rule', 'half_params', 'fastai_params']
    assert t.half_rule.tolist() == [1, 18, 50]
    assert t.fastai_rule.tolist() == [emb_sz_rule(2), emb_sz_rule(37), emb_sz_rule(10_000)] == [2, 12, 278]
    assert t.half_params.tolist() == [2, 666, 500_000] and t.fastai_params.tolist() == [4, 444, 2_780_000]
    with pytest.raises(TypeError, match='Expected a fastai TabularPandas'): compare_emb_rules(pd.DataFrame())

def test_fair_table():
    df = fair_affairs()
    assert df.shape == (6366, 10) and df.columns.tolist() == FAIR_CATS + FAIR_CONTS + ['had_affair']
    assert df.occupation_pair.nunique() == 36 and abs(df.had_affair.mean() - 0.3225) < 1e-3

def test_csv_end_to_end(tmp_path):
    "A user's CSV with string categories and missing values: loaded, split, both rules trained, threads restored."
    df = _toy(600)
    df.loc[::17, 'x'] = np.nan
    f = tmp_path/'shop.csv'; df.to_csv(f, index=False)
    before = f.read_bytes()
    tbl,target = load_table(f, 'y')
    dls = tabular_dls(tbl, target, bs=32)
    assert list(dls.cat_names) == ['shop', 'colour', 'x_na'] and list(dls.cont_names) == ['x']  # FillMissing's flag
    assert tabular_metrics(dls)[1:] == ('roc_auc_score', True)
    threads = torch.get_num_threads()
    learn,res = fit_emb_rule(dls, 'half', epochs=2, run_dir=tmp_path/'run')
    assert torch.get_num_threads() == threads
    assert res['emb_szs'] == recipe_emb_szs(dls) and res['emb_params'] == compare_emb_rules(dls).half_params.sum()
    assert res['roc_auc_score'] > 0.75, res     # the target is a function of x and shop: learnable
    h = load_history(tmp_path/'run')
    assert len(h.steps) == 2*len(dls.train) and len(h.epochs) == 2
    assert f.read_bytes() == before              # the user's file is untouched
    with pytest.raises(ValueError, match="No target column 'price'"): load_table(f, 'price')
    with pytest.raises(ValueError, match='Name the target column'): load_table(f)
    with pytest.raises(ValueError, match="Unknown embedding rule"): fit_emb_rule(dls, 'double')

def test_regression_target():
    df = fair_affairs().head(800)
    dls = tabular_dls(df, 'age', FAIR_CATS, ['children'], bs=64)
    assert tabular_metrics(dls)[1:] == ('_rmse', False)
    _,res = fit_emb_rule(dls, 'fastai', epochs=1)
    assert np.isfinite(res['_rmse']) and res['emb_szs'] == {c: emb_sz_rule(n) for c,n in
                                                             zip(FAIR_CATS, [len(dls.train_ds.classes[c]) for c in FAIR_CATS])}

def test_recipe_notebook_results(recipe_run):
    res = json.loads((recipe_run/'06_tabular_embeddings.json').read_text())
    assert (res['n_rows'], res['n_train'], res['n_valid']) == (6366, 5093, 1273)
    assert (res['target'], res['metric'], res['higher_is_better'], res['na_counted']) == ('had_affair', 'roc_auc_score', True, True)
    rules = pd.DataFrame(res['rules'])
    assert rules.column.tolist() == FAIR_CATS
    assert rules.cardinality.tolist() == [6, 5, 7, 7, 7, 37]            # values + #na#
    assert rules.half_rule.tolist() == [emb_sz_half(n) for n in rules.cardinality]
    runs = pd.DataFrame(res['runs'])
    assert sorted(runs.rule) == ['fastai', 'half'] and runs.seed.nunique() == 1  # quick: one seed, both rules
    for r in runs.itertuples():
        col = 'half_rule' if r.rule == 'half' else 'fastai_rule'
        assert r.emb_szs == dict(zip(rules.column, rules[col]))
        assert r.emb_params == int((rules.cardinality*rules[col]).sum())
        assert 0.65 < r.roc_auc_score <= 1 and r.seconds > 0           # real signal: a guess is 0.5
        assert len(load_history(r.run_dir).steps) == res['epochs'] * (res['n_train'] // res['bs'])  # raw loss, every step
    assert res['summary']['half']['params'] < res['summary']['fastai']['params']   # 32 embedding dims against 35
    assert 0.6 < res['reference']['roc_auc_score'] < 0.9 and 'verdict' in res
    for p in res['plots']: assert (recipe_run/p).stat().st_size > 10_000
