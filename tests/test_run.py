"One run, one model (issue 16): the ledger in force in every step's items, an undecodable file left out end to end, the final model with its card, and `nnrecipe predict` reproducing the card's validation accuracy."
import json
from pathlib import Path
import pandas as pd
import pytest
from nnrecipe.core import load_results
from nnrecipe.data import dataloaders, subset
from nnrecipe.run import open_run, model_card
from nnrecipe.regularize import regularized_learner, default_config
from nnrecipe.doctor import diagnose
from conftest import BOMB

def test_ledger_in_force_in_every_step(tmp_path):
    "Relabel three files and exclude two: the run's item table and the DataLoaders the steps build from it follow."
    run = open_run(tmp_path, seed=42)          # the digits; nothing decided yet
    tr = run.items[~run.items.is_valid].reset_index(drop=True)
    new = {f: str((int(l) + 1) % 10) for f,l in zip(tr.fname[:3], tr.label[:3])}
    for f,l in zip(tr.fname[:3], tr.label[:3]): run.ledger.record(f, l, 'relabel', new_label=new[f])
    for i in (3, 4): run.ledger.record(tr.fname[i], tr.label[i], 'exclude')
    again = open_run(tmp_path, seed=42)        # what the next step opens
    it = again.items.set_index('fname')
    assert len(again.items) == len(run.items) - 2 and not set(tr.fname[3:5]) & set(it.index)
    assert it.label[list(new)].tolist() == list(new.values())
    assert again.items.attrs['applied'] == dict(excluded=2, relabelled=3, unreadable=0, unsure=0)
    counts = lambda items: items[~items.is_valid].label.value_counts().sort_index()
    want = counts(run.items).copy()
    for f,l in zip(tr.fname[:3], tr.label[:3]): want[l] -= 1; want[new[f]] += 1
    for l in tr.label[3:5]: want[l] -= 1
    assert counts(again.items).to_dict() == want.to_dict()
    # steps 0, 1, 2 and 5 build `dataloaders(items)`; step 4 `regularized_learner(items, config)`; 2 and 3 take subsets
    cfg = default_config('resnet18', size=16, bs=64, epochs=1)
    learn = regularized_learner(again.items, cfg)
    for dls in (dataloaders(again.items, size=16), learn.dls):
        assert len(dls.train_ds) + len(dls.valid_ds) == len(again.items)
        assert dls.train_ds.items.set_index('fname').label[list(new)].tolist() == list(new.values())
        y = pd.Series([str(dls.vocab[int(t)]) for t in dls.train_ds.tls[1]]).value_counts().sort_index()  # the targets
        assert y.to_dict() == want.to_dict()
    assert not set(tr.fname[3:5]) & set(subset(again.items, 500, seed=42).fname)
    # the model card names the item table it was trained on
    m = dict(metric=0.5, valid_loss=1.0, seconds=1.0, precision='fp32')
    before, after = model_card(run, learn, m, cfg), model_card(again, learn, m, cfg)
    assert before['items']['fingerprint'] != after['items']['fingerprint'] == again.item_fingerprint
    assert before['ledger']['fingerprint'] != after['ledger']['fingerprint']

def test_undecodable_file_reported_then_left_out(recipe_run, recipe_data):
    "The shared run's folder holds a PNG over PIL's pixel limit: step 1 reports it, every step runs without it."
    bomb = str(recipe_data/'4'/BOMB)
    steps = load_results(recipe_run/'run.json')['steps']
    assert {s['status'] for s in steps} == {'done'}
    look = load_results(recipe_run/'01_look_at_the_data.json')
    assert (look['n_files'], look['n_unreadable'], look['issues'].get('unreadable')) == (1798, 1, 1)
    assert [f['fname'] for f in load_results(recipe_run/'unreadable.json')['files']] == [bomb]
    assert load_results(recipe_run/'00_start_here.json')['n_items'] == 1797 - 179   # and 179 in the test split
    card = load_results(recipe_run/'models'/'final_card.json')
    assert card['items']['n'] == 1797 - 179 and card['items']['unreadable_left_out'] == 1
    assert bomb not in load_results(recipe_run/'test_split.json')['files']
    assert load_results(recipe_run/'05_interpret.json')['data']['model'] == 'models/final.pkl'

def test_final_model_card_and_predict(recipe_run, recipe_data, tmp_path, capsys):
    "Step 4 saved the final model and its card; `nnrecipe predict` on the validation images gives the card's accuracy."
    from nnrecipe.runner import main
    card = load_results(recipe_run/'models'/'final_card.json')
    assert set(card) >= {'classes', 'arch', 'size', 'normalisation', 'config', 'epochs', 'validation', 'items', 'ledger',
                         'versions', 'seconds', 'device', 'precision'}
    assert card['classes'] == [str(i) for i in range(10)] and card['size'] == 32 and card['validation']['n'] == 359
    assert 'final.pkl' in load_results(recipe_run/'models'/'models.json')
    run = open_run(recipe_run, recipe_data, size=32)
    assert run.item_fingerprint == card['items']['fingerprint'] and run.card() == card
    valid = run.items[run.items.is_valid]
    valid[['fname', 'label']].to_csv(tmp_path/'valid.csv', index=False)
    cov = {r['min_prob']: r for r in card['coverage']}[0.5]
    main(['predict', str(recipe_run), str(tmp_path/'valid.csv'), '--out', str(tmp_path/'preds.csv'), '--min-prob', '0.5'])
    out = capsys.readouterr().out
    assert 'accuracy against' in out and 'abstained' in out
    preds = pd.read_csv(tmp_path/'preds.csv', dtype={'label': str, 'pred': str})
    assert len(preds) == 359 and preds.error.isna().all()
    assert abs((preds.pred == preds.label).mean() - card['validation']['accuracy']) <= 0.005
    probs = preds[[f'p_{c}' for c in card['classes']]]
    assert ((probs.sum(axis=1) - 1).abs() < 1e-4).all()
    # the test split, scored once after training, beside the validation figures; predict agrees with it
    t, split = card['test'], load_results(recipe_run/'test_split.json')
    assert (t['n'], t['source'], split['n']) == (179, 'drawn', 179) and 0 <= t['accuracy'] <= 1 and t['loss'] > 0
    assert not set(split['files']) & set(run.items.fname)
    assert [r['model'] for r in map(json.loads, (recipe_run/'test_reads.jsonl').read_text().splitlines())] == ['models/final.pkl']
    test = run.all_items[run.all_items.is_test]
    test[['fname', 'label']].to_csv(tmp_path/'test.csv', index=False)
    main(['predict', str(recipe_run), str(tmp_path/'test.csv'), '--out', str(tmp_path/'test_preds.csv')])
    tp = pd.read_csv(tmp_path/'test_preds.csv', dtype={'label': str, 'pred': str})
    assert len(tp) == 179 and abs((tp.pred == tp.label).mean() - t['accuracy']) <= 0.006
    # calibration: measured on the same validation images with the same temperature that predict applies
    cal = card['calibration']
    assert card['temperature'] > 0 and (card['temperature'] != 1.0) == cal['applied']
    assert cal['ece_after'] <= cal['ece_before'] and (recipe_run/cal['plot']).stat().st_size > 0
    assert sum(v['support'] for v in card['per_class'].values()) == 359 == sum(map(sum, card['confusion']['matrix']))
    assert preds.abstained.tolist() == (preds.prob < 0.5).tolist()
    kept = preds[~preds.abstained]
    assert abs(len(kept)/359 - cov['coverage']) <= 0.006 and abs(len(kept) - cov['n']) <= 2
    if len(kept): assert abs((kept.pred == kept.label).mean() - cov['accuracy']) <= 0.02

def test_doctor_follows_the_chain(recipe_run):
    "The doctor knows the run's final model exists and points at predict; the report carries the card."
    d = diagnose(recipe_run)
    assert 'final_model' in d and 'no_final_model' not in d and 'nnrecipe predict' in d['final_model'].todo
    assert ('test_agrees' in d) != ('test_disagrees' in d)   # the test figure beside validation, judged on their noise
    report = (recipe_run/'report.html').read_text()
    assert "id='model-card'" in report and 'Expected calibration error' in report and 'Coverage and accuracy' in report
