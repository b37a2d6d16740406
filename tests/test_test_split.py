"A held-out test split kept out of every decision (issue 17, item 1): stratified, stable for a seed, disjoint from train and valid, near-duplicate groups whole, read only by the final scoring; yours when your data names one."
import inspect, shutil
from pathlib import Path
import numpy as np, pandas as pd
import PIL.Image
import pytest
from nnrecipe.data import digits, load_items, dataloaders
from nnrecipe.run import open_run, draw_test_split, train_final_model, _dup_groups, TEST_SPLIT
from nnrecipe.scan import scan
from nnrecipe.core import load_results

def _copy(dest:Path, per_class:int, classes=range(10))->Path:
    "The first `per_class` digits of each class, copied as class folders."
    src = digits()
    for c in map(str, classes):
        (dest/c).mkdir(parents=True)
        for p in sorted((src/c).glob('*.png'))[:per_class]: shutil.copy(p, dest/c/p.name)
    return dest

def test_stratified_stable_disjoint(tmp_path):
    "10% of every class, from the training rows only; the same files for a seed, others for another; recorded for the run."
    run = open_run(tmp_path/'a', seed=42)
    test = set(run.test_split['files'])
    all_ = run.all_items.set_index('fname')
    counts, tcounts = all_.label.value_counts(), all_.label[list(test)].value_counts()
    assert (abs(tcounts - 0.1*counts[tcounts.index]) <= 1).all() and set(tcounts.index) == set(counts.index), tcounts
    assert run.n_test == len(test) == 179 and not all_.is_valid[list(test)].any()    # taken from training rows
    assert not test & set(run.items.fname)                                           # disjoint from train and valid
    assert int(run.items.is_valid.sum()) == int(load_items(digits()).is_valid.sum())  # validation split unchanged
    assert set(open_run(tmp_path/'b', seed=42).test_split['files']) == test           # stable for a seed
    other = set(open_run(tmp_path/'c', seed=7).test_split['files'])
    assert other != test and len(other) == len(test)
    again = open_run(tmp_path/'a', seed=7)             # a later opening with another seed keeps the recorded split
    assert set(again.test_split['files']) == test and load_results(tmp_path/'a'/TEST_SPLIT)['seed'] == 42

def _near_copies(root:Path, n:int)->list:
    "Add a near copy (one pixel changed, re-saved) of the first `n` images of each class; return the pairs."
    pairs = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        for p in sorted(d.glob('*.png'))[:n]:
            a = np.asarray(PIL.Image.open(p)).copy(); a[0, 0] = 255 - a[0, 0]
            q = d/f'{p.stem}_copy.png'; PIL.Image.fromarray(a).save(q); pairs.append((str(p), str(q)))
    return pairs

def test_near_duplicate_groups_kept_whole(tmp_path):
    "Near copies land on one side of the test split, whatever the seed; without the groups, some seed splits a pair."
    root = _copy(tmp_path/'data', 20, classes=range(3))
    pairs = _near_copies(root, 10)
    items = load_items(root)
    g = _dup_groups(scan(items, progress=False))
    gid = dict(zip(items.fname, g))
    assert all(gid[a] >= 0 and gid[a] == gid[b] for a,b in pairs)     # the scan's hashes group every pair
    where = lambda t: {f: bool(v) for f,v in zip(items.fname, t)}
    split_pairs = lambda t: sum(where(t)[a] != where(t)[b] for a,b in pairs)
    for seed in range(8):
        t, note = draw_test_split(items, g, share=0.2, seed=seed)
        assert note is None and split_pairs(t) == 0 and not (t & items.is_valid.to_numpy()).any()
        in_valid = {gid[f] for f in items.fname[items.is_valid] if gid[f] >= 0}   # groups reaching into validation
        assert not any(gid[f] in in_valid for f in items.fname[t])
    assert any(split_pairs(draw_test_split(items, None, share=0.2, seed=s)[0]) for s in range(8))  # the test can fail
    run = open_run(tmp_path/'run', root, size=16)      # the same, through the run
    test = set(run.test_split['files'])
    assert test and all((a in test) == (b in test) for a,b in pairs)
    shutil.copy(sorted((digits()/'1').glob('*.png'))[-1], root/'1'/'added.png')   # added later: never joins the split
    again = open_run(tmp_path/'run', root, size=16)
    assert set(again.test_split['files']) == test and str(root/'1'/'added.png') in set(again.items.fname)

def test_your_test_folder_and_csv_column(tmp_path):
    "A test/ folder beside train/ and valid/, or an is_test column, is the test split: kept as given, nothing drawn."
    src = load_items(_copy(tmp_path/'flat', 12, classes=range(3)))
    for i,r in enumerate(src.itertuples()):
        split = ('test', 'valid', 'train', 'train')[i % 4]
        (tmp_path/'tvt'/split/r.label).mkdir(parents=True, exist_ok=True); shutil.copy(r.fname, tmp_path/'tvt'/split/r.label)
    run = open_run(tmp_path/'run1', tmp_path/'tvt', size=16)
    mine = sorted(str(p) for p in (tmp_path/'tvt'/'test').rglob('*.png'))
    assert run.test_split['source'] == 'yours' and sorted(run.test_split['files']) == mine and run.n_test == 9
    assert run.test_split['near_copies_across']['n_groups'] == 0
    shutil.copy(mine[0], tmp_path/'tvt'/'train'/Path(mine[0]).parent.name/'copy.png')   # a copy of a test image in train/
    again = open_run(tmp_path/'run1', tmp_path/'tvt', size=16)
    assert again.test_split['near_copies_across'] == dict(n_groups=1, files=sorted([mine[0], str(tmp_path/'tvt'/'train'/Path(mine[0]).parent.name/'copy.png')]))
    assert not set(mine) & set(run.items.fname) and int(run.items.is_valid.sum()) == 9
    csv = src.assign(is_test=[i % 4 == 0 for i in range(len(src))], fname=src.fname)
    csv.drop(columns='is_valid').to_csv(tmp_path/'items.csv', index=False)
    run = open_run(tmp_path/'run2', tmp_path/'items.csv', size=16)
    assert run.test_split['source'] == 'yours' and set(run.test_split['files']) == set(csv.fname[csv.is_test])
    assert not set(run.test_split['files']) & set(run.items.fname) and run.n_test == 9
    csv.assign(is_test=False).to_csv(tmp_path/'none.csv', index=False)   # a column without a test image: one is drawn
    assert open_run(tmp_path/'run3', tmp_path/'none.csv', size=16).test_split['source'] == 'drawn'

def test_no_test_split_when_a_class_is_too_small(tmp_path, capsys):
    "A class of fewer than 10 images: no test split, and the run says so."
    run = open_run(tmp_path/'run', _copy(tmp_path/'data', 8, classes=range(3)), size=16)
    assert run.n_test == 0 and "class '2' has 8 images, fewer than the 10" in capsys.readouterr().out

def test_test_split_read_only_by_the_final_scoring(tmp_path, monkeypatch):
    "Every decoding of a test file outside the final scoring fails the test: loaders, label issues, training; then the scoring reads them all."
    from nnrecipe.label_issues import label_issues
    from nnrecipe.regularize import default_config
    from nnrecipe.ledger import apply
    import torch
    run = open_run(tmp_path/'run', _copy(tmp_path/'data', 30, classes=range(4)), size=16)
    test, reads = set(run.test_split['files']), []
    assert run.n_test == 12
    real_open = PIL.Image.open
    def guarded(fp, *a, **k):
        f = str(Path(fp).absolute()) if isinstance(fp, (str, Path)) else None
        if f in test:
            if not any(fr.function == '_test_scores' for fr in inspect.stack()):
                raise AssertionError(f"a test file was read before the final scoring: {f}")
            reads.append(f)
        return real_open(fp, *a, **k)
    monkeypatch.setattr(PIL.Image, 'open', guarded)
    with pytest.raises(AssertionError, match='before the final scoring'): PIL.Image.open(sorted(test)[0])  # the guard is live
    with pytest.raises(RuntimeError, match='read once, by the final scoring'): run.final_test_items()
    with pytest.raises(ValueError, match='marked is_test'): dataloaders(run.all_items, size=16)
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try:
        dls = dataloaders(run.items, size=16, bs=16)
        for _ in dls.train: pass
        for _ in dls.valid: pass
        li_items = apply(run.all_items[~run.all_items.is_test], scan=run.unreadable.assign(readable=False))  # as step 1
        label_issues(li_items, folds=2, epochs=1, size=16, repeats=1, progress=False)
        learn, card = train_final_model(run, default_config('resnet18', size=16, bs=16, epochs=1), epochs=1)
    finally: torch.set_num_threads(n)
    assert set(reads) == test                          # the final scoring read every test file, and only it
    t = card['test']
    assert t['n'] == 12 and 0 <= t['accuracy'] <= 1 and t['loss'] > 0 and t['source'] == 'drawn'
    assert card['validation']['n'] == int(run.items.is_valid.sum()) and card['training']['n'] == len(run.items) - card['validation']['n']
