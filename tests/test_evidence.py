"Verdicts with their evidence: the overfit ladder names the images it cannot fit and resumes; the report shows them."
import json, re, shutil
from pathlib import Path
import pandas as pd, pytest
from PIL import Image
from nnrecipe.core import save_results
from nnrecipe.data import digits, load_items, subset
from nnrecipe.overfit import overfit_ladder
from nnrecipe.report import write_report

@pytest.fixture(scope='module')
def items(): return load_items(digits())

def planted(items, dest, n=32, blank=(), copies=()):
    "`subset(items, n)` and 64 validation items copied: rows in `blank` drawn white, `copies` (i, j): j gets i's bytes."
    rows = pd.concat([subset(items, n), items[items.is_valid].iloc[:64]]).reset_index(drop=True)
    fnames = []
    for k,r in enumerate(rows.itertuples()):
        f = Path(dest)/r.label/f'{k}.png'; f.parent.mkdir(parents=True, exist_ok=True)
        if k in blank: Image.new('RGB', (32, 32), 'white').save(f)
        else: shutil.copy(r.fname, f)
        fnames.append(str(f))
    for i,j in copies: shutil.copy(fnames[i], fnames[j])
    return rows.assign(fname=fnames)

def cross_class_pairs(rows, k:int)->list:
    "`k` pairs (i, j) of training rows under different labels, no row used twice."
    used,out = set(),[]
    for i in range(len(rows)):
        if len(out) == k: break
        j = next((j for j in range(i+1, 32) if rows.label[j] != rows.label[i] and {i, j}.isdisjoint(used)), None)
        if i not in used and j is not None: out.append((i, j)); used |= {i, j}
    return out

def test_conflicting_duplicates_named(items, tmp_path):
    "Two byte-identical images under two labels: the verdict names exactly those two, as conflicting duplicates, early."
    rows = pd.concat([subset(items, 32)]).reset_index(drop=True)
    (i,j), = cross_class_pairs(rows, 1)
    pl = planted(items, tmp_path/'data', copies=[(i, j)])
    res = overfit_ladder(pl, sizes=[32], epochs=20, size=16, run_dir=tmp_path/'run')
    assert res.explained and not res.overfit and set(res.table.tip) <= {'start', 'train longer'}, res.table
    assert set(res.resisting.fname) == {pl.fname[i], pl.fname[j]}
    assert res.verdict.count('conflicting duplicates') == 2 and 'byte-identical' in res.verdict
    for f in (pl.fname[i], pl.fname[j]): assert '/'.join(Path(f).parts[-2:]) in res.verdict

def test_blank_image_per_class_named_as_blank(items, tmp_path):
    "One blank image in each class: the ladder names them as blank and stops on its first rungs."
    rows = subset(items, 32).reset_index(drop=True)
    blank = [int(rows.index[rows.label == c][0]) for c in sorted(rows.label.unique())]
    pl = planted(items, tmp_path/'data', blank=blank)
    res = overfit_ladder(pl, sizes=[32], epochs=20, size=16, run_dir=tmp_path/'run')
    z = res.resisting
    assert res.explained and set(res.table.tip) <= {'start', 'train longer'}, res.table
    assert set(z.fname) <= {pl.fname[k] for k in blank} and len(z) >= 9, z   # the blanks, and nothing else
    assert all(r[0].startswith('blank: every pixel the same') for r in z.reasons)
    assert 'blank: every pixel the same' in res.verdict

def test_ladder_resumes_from_its_checkpoints(items, tmp_path, capsys):
    "Run twice in one folder: the second trains nothing and returns the same table; cut short, it resumes at its rung."
    kw = dict(sizes=[64, 32], epochs=1, longer=1, larger=[], size=16, run_dir=tmp_path/'run')
    first = overfit_ladder(items, **kw)
    assert len(first.table) >= 3, first.table     # 1 epoch does not memorise: it climbs down
    capsys.readouterr()
    again = overfit_ladder(items, **kw)
    assert f"resumed: all {len(first.table)} rungs read from" in capsys.readouterr().out
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.verdict == first.verdict and again.params['steps'] == first.params['steps']
    ck = tmp_path/'run'/'rungs.jsonl'
    ck.write_text(''.join(ck.read_text().splitlines(keepends=True)[:1]) + '{"key": "cut short')  # killed in rung 1
    third = overfit_ladder(items, **kw)
    assert "resumed at rung 1 (train longer)" in capsys.readouterr().out
    cols = [c for c in first.table.columns if c != 'seconds']
    pd.testing.assert_frame_equal(third.table[cols], first.table[cols], rtol=1e-4)

def test_report_shows_the_pairs_under_the_overfit_finding(items, tmp_path):
    "On the digits with three planted cross-class duplicates, report.html shows the three pairs under the finding."
    rows = subset(items, 32).reset_index(drop=True)
    pairs = cross_class_pairs(rows, 3)
    run = tmp_path/'run'
    pl = planted(items, tmp_path/'data', copies=pairs)
    res = overfit_ladder(pl, sizes=[32], epochs=20, size=16, run_dir=run/'03_overfit_a_subset')
    save_results(res.to_dict(), run/'03_overfit_a_subset.json')
    save_results(dict(steps=[dict(notebook='03_overfit_a_subset.ipynb', status='done', seconds=1)]), run/'run.json')
    page = write_report(run).read_text()
    ev = re.search(r"<div class='evidence'><h4>cannot_fit_images: the 6 images it rests on</h4>(.*?)</div>", page, re.S)
    assert ev, 'no evidence block for the overfit finding'
    assert ev.group(1).count('<img ') == 6
    names = re.findall(r"<figcaption class='note'>(.*?)</figcaption>", ev.group(1))
    want = [['/'.join(Path(pl.fname[k]).parts[-2:]) for k in p] for p in pairs]
    assert sorted(map(sorted, zip(names[::2], names[1::2]))) == sorted(map(sorted, want))   # pair by pair
    assert 'review(candidates(items[items.fname.isin(' in ev.group(1)
