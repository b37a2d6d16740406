"The tabular pipeline end to end on a CSV and on a regression target, and the results of recipe_nb/06_tabular_embeddings (the rules themselves are tested in nbs/18_tabular.ipynb)."
import json
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import emb_sz_rule
from nnrecipe.tabular import (emb_sz_half, recipe_emb_szs, compare_emb_rules, fair_affairs, load_table, tabular_dls,
                              tabular_metrics, fit_emb_rule, FAIR_CATS)
from nnrecipe.history import load_history

def _toy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(dict(shop=[f's{i}' for i in rng.integers(0, 9, n)], colour=rng.choice(['red', 'blue', None], n),
                           x=rng.normal(size=n)))
    df['y'] = (df.x + (df.shop == 's3') > 0.5)
    return df

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
