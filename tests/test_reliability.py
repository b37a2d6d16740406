"""Reliability: bad input gives a result or an error a person can act on; nothing decided is lost; nothing is let in.

Figures (cases tried, faults injected and survived, decisions lost) are printed at the end of the run
(`pytest -s` not needed: they are printed outside the capture) and shown in nbs/28_when_things_go_wrong.ipynb.
"""
import ast, os, re, shutil, signal, sys
from pathlib import Path
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import badinput

REPO = Path(__file__).parents[1]
FIGURES = {}

@pytest.fixture(scope='module')
def bad_root(tmp_path_factory):
    root = badinput.corpus(tmp_path_factory.mktemp('badinput')/'bad')
    yield root
    badinput.cleanup(root)

@pytest.fixture(scope='module', autouse=True)
def report(request):
    "Print the figures once every test of this file has run."
    yield
    if not FIGURES: return
    msg = '\n\nReliability figures\n' + '\n'.join(f"  {k}: {v}" for k,v in FIGURES.items())
    cap = request.config.pluginmanager.get_plugin('capturemanager')
    if cap is None: print(msg); return
    with cap.global_and_fixture_disabled(): print(msg, flush=True)

def test_bad_input_corpus(bad_root):
    "Every public function on every bad input either works or fails with an nnrecipe error saying what and what to do."
    df = badinput.run_cases(bad_root)
    bad = df[~df.verdict.isin(['works', 'clear error'])]
    assert bad.empty, bad[['name', 'call', 'verdict', 'error', 'where', 'result']].to_string()
    def row(call, name=None):
        r = df[(df.call == call) & ((df.name == name) if name else True)]
        assert len(r) == 1, (call, name, len(r))
        return r.iloc[0]
    named = lambda call, *what, name=None: all(w in row(call, name).result for w in what)
    # the errors name the offending path or value
    assert named("load_items('missing.csv')", 'nope.png', 'gone/x.png')
    assert named("load_items('latin1.csv')", 'latin1.csv', 'UTF-8')
    # the first bad file of the batch is named: a PNG over PIL's pixel limit here (a broken file says it cannot be read)
    broken = row("dataloaders(load_items('images/')).one_batch()").result
    assert 'apply(items, scan=' in broken and ("over PIL's limit" in broken or 'cannot be read as an image' in broken)
    assert named("dataloaders(items)", "'bird'", 'unseen/valid/bird/', name='valid holds a class absent from training')
    assert named("check_dls(DataBlock(...).dataloaders(items))", "'bird'")
    for lbl in ('../x', '/etc', 'a/../../b'): assert named(f"Ledger.record(f, 'a', 'relabel', '{lbl}')", repr(lbl))
    # what must work, works, and says what it did to the data
    assert row("load_items('dup_rows.csv')").result.startswith('12 items') and 'repeat' in row("load_items('dup_rows.csv')").warning
    assert row("load_items('space_label.csv')").result.startswith('12 items, 2 classes')
    assert row("load_items('nonascii_label.csv')").result.startswith('12 items, 2 classes')
    assert row("scan('images/')").ok and row("dataloaders(apply(items, scan=scan(items))).one_batch()").ok
    assert row("dataloaders(load_items('ten_by_five/'))").result.endswith('1 train batches')   # bs 64 > 40 images: one batch, not none
    assert not (bad_root/'PWNED').exists() and not Path('PWNED').exists()   # the ledger line that was code never ran
    assert 'read-only' in row("materialize(ledger excluding a file, 'readonly/')").result
    assert badinput.checksums(bad_root/'readonly') and not (bad_root/'ro.quarantine').exists()
    FIGURES['bad-input cases tried'] = len(df)
    FIGURES['  ... that work'] = int(df.ok.sum())
    FIGURES['  ... that fail with an actionable nnrecipe error'] = int((df.verdict == 'clear error').sum())
    FIGURES['  ... that fail any other way'] = len(bad)

def test_ledger_survives_sigkill(tmp_path):
    "Two writers SIGKILLed at random moments, 30 times, some inside a write: every acknowledged decision is on disk."
    from nnrecipe.ledger import Ledger
    res = badinput.kill_ledger_writers(tmp_path/'review.jsonl', kills=30, writers=2, seed=0)
    assert res['processes_killed'] >= 50 and res['torn_writes'] >= 3, res   # the kills landed mid-stream
    assert res['acked'] > 100, res
    assert res['lost'] == 0, res
    text = (tmp_path/'review.jsonl').read_text(encoding='utf-8')
    recs = Ledger(tmp_path/'review.jsonl').read()
    assert len(recs) >= res['acked'] and recs.decision.isin(['keep', 'relabel', 'exclude', 'unsure']).all()
    assert text.count('\n') >= len(recs)   # every record is a line of its own (torn ones closed, none glued)
    FIGURES['ledger writers SIGKILLed'] = res['processes_killed']
    FIGURES['  of which inside a write (torn record)'] = res['torn_writes']
    FIGURES['  decisions acknowledged before the kills'] = res['acked']
    FIGURES['  decisions lost'] = res['lost']

def test_materialize_undo_survive_sigkill(tmp_path):
    "materialize killed at random then undo; or undo killed at random then undo again: the dataset is back byte for byte."
    res = badinput.kill_materialize(tmp_path, rounds=10, n=40, seed=1)
    assert res['restored'] == res['rounds'], res
    assert res['materialize_killed'] >= 4 and res['undo_killed'] >= 4, res   # of 5 each: the kills landed mid-run
    assert not list((tmp_path/'data').rglob('*.nnr-tmp'))
    FIGURES['materialize runs SIGKILLed, then undone'] = res['materialize_killed']
    FIGURES['undo runs SIGKILLed, then undone again'] = res['undo_killed']
    FIGURES['  datasets restored byte for byte'] = f"{res['restored']} of {res['rounds']}"

@pytest.mark.parametrize('label', ['../x', '/etc', 'a/../../b', '..', '.', 'a\\..\\b', '', ' x', 'x\0y'])
def test_path_traversal_refused(tmp_path, label):
    "A relabel to anything that could name a path is refused at record time and again when a hand-edited ledger is applied."
    import json
    from nnrecipe.data import load_items
    from nnrecipe.ledger import Ledger, apply, materialize
    root = tmp_path/'data'
    for c in ('a', 'b'): badinput._png(root/c/'0.png', ord(c))
    items = load_items(root, valid_pct=0)
    led = Ledger(tmp_path/'l.jsonl')
    with pytest.raises(ValueError, match='a label names a class folder inside the dataset'):
        led.record(items.fname[0], 'a', 'relabel', label)
    assert len(led) == 0
    led.path.write_text(json.dumps(dict(path=items.fname[0], old_label='a', decision='relabel', new_label=label)) + '\n')
    with pytest.raises(ValueError, match=re.escape(repr(label))): apply(items, led)
    with pytest.raises(ValueError, match=re.escape(repr(label))): materialize(led, root)
    assert badinput.checksums(root).keys() == {'a/0.png', 'b/0.png'} and not (tmp_path/'data.quarantine').exists()
    FIGURES['path-traversal labels refused'] = FIGURES.get('path-traversal labels refused', 0) + 1

def test_quarantine_stays_inside(tmp_path):
    "Excluded paths that resolve outside the dataset (.., absolute, symlinked folder) are refused; nothing moves."
    from nnrecipe.ledger import Ledger, materialize
    root, out = tmp_path/'data', tmp_path/'outside'
    badinput._png(root/'a'/'0.png', 1); badinput._png(out/'secret.png', 2)
    (root/'link').symlink_to(out, target_is_directory=True)
    before = badinput.checksums(tmp_path)
    for p in (root/'a'/'..'/'..'/'outside'/'secret.png', out/'secret.png', root/'link'/'secret.png', Path('/etc/passwd')):
        led = Ledger(tmp_path/f'l{abs(hash(str(p)))}.jsonl'); led.record(p, 'a', 'exclude')
        with pytest.raises(ValueError, match='not inside the dataset'): materialize(led, root)
    after = badinput.checksums(tmp_path)
    assert all(after.get(k) == v for k,v in before.items()) and not (tmp_path/'data.quarantine').exists()

# --- nothing let in -------------------------------------------------------------------------------------------------
_RUNS_CODE = {'eval', 'exec', 'compile', '__import__', 'execfile'}
_UNPICKLES = re.compile(r'\b(pickle|cPickle|dill|cloudpickle|joblib|marshal|shelve)\.(load|loads|Unpickler|open)\b|'
                        r'\btorch\.load\b|\bload_learner\b|\bread_pickle\b|\byaml\.load\b|\bos\.system\b|shell\s*=\s*True|'
                        r'\.(eval|query)\(')

@pytest.mark.parametrize('mod', ['data', 'scan', 'issues', 'ledger', 'label_issues', 'review', 'batch', 'baseline'])
def test_no_code_from_user_files(mod):
    "The modules that read CSVs and ledgers never run strings as code and never unpickle."
    path = REPO/'nnrecipe'/f'{mod}.py'
    src = path.read_text()
    calls = [n.func.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert not _RUNS_CODE & set(calls), (path, _RUNS_CODE & set(calls))
    hits = [l.strip() for l in src.splitlines() if _UNPICKLES.search(l) and not l.strip().startswith('#')
            and 'model.eval()' not in l and '.eval()' not in l]
    assert not hits, (path, hits)
    FIGURES['modules checked for eval/exec/unpickling'] = FIGURES.get('modules checked for eval/exec/unpickling', 0) + 1

def test_servers_bind_localhost():
    "make lab, and every TensorBoard command the docs and notebooks show, bind 127.0.0.1 only."
    mk = (REPO/'Makefile').read_text()
    lab = [l for l in mk.splitlines() if 'jupyter lab' in l or 'jupyter-lab' in l]
    assert lab and all('--ip 127.0.0.1' in l or '--ip=127.0.0.1' in l for l in lab), lab
    tb = []
    for f in [REPO/'Makefile', REPO/'README.md', *(REPO/'nbs').glob('*.ipynb'), *(REPO/'recipe_nb').glob('*.ipynb')]:
        tb += [(f.name, m.group(0)) for m in re.finditer(r'tensorboard --logdir[^"\n`]*', f.read_text())]
    assert tb and all('--host 127.0.0.1' in c and '--bind_all' not in c for _,c in tb), tb
