"""One corpus of bad input, and every public entry point called on it.

`corpus(root)` writes the cases; `run_cases(root)` calls each public function on them and returns one row per case:
what was tried, whether it worked, and the error a person would read. `judge(row)` says whether an outcome is
acceptable: it worked, or it failed with an nnrecipe error that names the offending path or value and what to do.
tests/test_reliability.py asserts that every row is acceptable; nbs/28_when_things_go_wrong.ipynb shows the table.
"""
from __future__ import annotations
import os, shutil, traceback, warnings
from dataclasses import dataclass
from pathlib import Path
import numpy as np, pandas as pd
from PIL import Image

def _png(path:Path, seed:int, size:int=24):
    "A small random RGB PNG: distinct enough from its neighbours to never count as a duplicate."
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.random.default_rng(seed).integers(0, 255, (size//4, size//4, 3), dtype=np.uint8)
    Image.fromarray(a).resize((size, size), Image.NEAREST).save(path)
    return path

def corpus(root)->Path:
    "Write every bad-input case under `root` and return it."
    from nnrecipe.scan import bad_images
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    bad_images(root/'images')                                 # the review issue's broken, odd and looping files
    for c in range(10):                                       # 10 classes x 5 images
        for i in range(5): _png(root/'ten_by_five'/f'c{c}'/f'{i}.png', 100*c + i)
    for c,n in (('many', 8), ('single', 1)):                  # a class with one image
        for i in range(n): _png(root/'single'/c/f'{i}.png', 2000 + 10*len(c) + i)
    for k,(split,cls) in enumerate((('train', ('cat', 'dog')), ('valid', ('cat', 'dog', 'bird')))):  # valid holds a class training lacks
        for j,c in enumerate(cls):
            for i in range(4): _png(root/'unseen'/split/c/f'{i}.png', 3000 + 100*k + 10*j + i)
    ro = root/'readonly'                                      # a read-only dataset folder
    for c in ('a', 'b'):
        for i in range(4): _png(ro/c/f'{i}.png', 4000 + ord(c)*10 + i)
    for p in sorted(ro.rglob('*'), reverse=True): os.chmod(p, 0o555 if p.is_dir() else 0o444)
    os.chmod(ro, 0o555)
    # CSVs: the files they name live in root/csvimg
    for i in range(12): _png(root/'csvimg'/f'{i}.png', 5000 + i)
    rows = lambda pairs: 'fname,label\n' + ''.join(f"{f},{l}\n" for f,l in pairs)
    good = [(f'csvimg/{i}.png', 'ab'[i % 2]) for i in range(12)]
    (root/'missing.csv').write_text(rows(good + [('csvimg/nope.png', 'a'), ('gone/x.png', 'b')]))
    (root/'dup_rows.csv').write_text(rows(good + good[:3]))
    (root/'dup_conflict.csv').write_text(rows(good + [('csvimg/0.png', 'b')]))
    (root/'empty_label.csv').write_text(rows(good[:-1] + [('csvimg/11.png', '')]))
    (root/'slash_label.csv').write_text(rows([(f, 'a/b' if l == 'a' else '..') for f,l in good]))
    (root/'space_label.csv').write_text(rows([(f, ' a' if i < 3 else l) for i,(f,l) in enumerate(good)]))
    (root/'nonascii_label.csv').write_text(rows([(f, 'chat é' if l == 'a' else '犬') for f,l in good]), encoding='utf-8')
    (root/'no_label_col.csv').write_text('file,class\n' + ''.join(f"{f},{l}\n" for f,l in good))
    (root/'bad_valid.csv').write_text('fname,label,is_valid\n' + ''.join(f"{f},{l},maybe\n" for f,l in good))
    (root/'empty.csv').write_text('fname,label\n')
    (root/'both_splits.csv').write_text('fname,label,is_valid,is_test\n' + ''.join(f"{f},{l},{int(i < 3)},{int(i % 3 == 0)}\n" for i,(f,l) in enumerate(good)))
    (root/'latin1.csv').write_bytes(rows([(f, 'caf\xe9' if l == 'a' else l) for f,l in good]).encode('latin-1'))
    (root/'notes.pdf').write_bytes(b'%PDF-1.4\n')
    (root/'loose').mkdir(exist_ok=True); _png(root/'loose'/'x.png', 6000)
    (root/'nothing').mkdir(exist_ok=True)
    return root

_CODE = '__import__("os").system("touch PWNED")\n'  # a ledger line that is code: it must never run
_TORN = '{"path": "a", "old_label": "c0", "decision": "keep"}\n{"path": "b", "ol'

@dataclass
class Case:
    name:str     # what is wrong with the input
    call:str     # the call tried, as a person would type it
    fn:object    # () -> a short description of the result; raises on failure

def _own_dls(items):
    "DataLoaders built with fastai's own DataBlock, as a practitioner with their own pipeline would."
    from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, ColReader, ColSplitter, Resize
    db = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader('fname'), get_y=ColReader('label'),
                   splitter=ColSplitter('is_valid'), item_tfms=Resize(16))
    return db.dataloaders(items, bs=4, num_workers=0)

def _widget_tiles(rv)->str:
    "How many tiles the review widget shows; its widgets are closed after (no widget state left in a docs page)."
    import ipywidgets as W
    n = len(rv.tiles)
    W.Widget.close_all()
    return f"{n} tiles; unreadable files show a grey square"

def _items_summary(df)->str: return f"{len(df)} items, {df.label.nunique()} classes, {int(df.is_valid.sum())} valid"

def cases(root:Path)->list:
    "Every (input, public function) pair of the table."
    from nnrecipe.data import load_items, dataloaders, subset
    from nnrecipe.scan import scan
    from nnrecipe.issues import find_issues
    from nnrecipe.ledger import apply, Ledger, materialize, undo, check_label
    from nnrecipe.label_issues import out_of_fold, label_issues
    from nnrecipe.review import candidates, review
    from nnrecipe.batch import inspect_batch
    from nnrecipe.task import check_dls
    from nnrecipe.baseline import baseline_learner, sanity_checks
    r = Path(root); sc = lambda src, **kw: scan(src, cache=False, progress=False, n_workers=1, **kw)
    def dls_of(src, **kw): return dataloaders(load_items(src), size=16, **kw)
    def learn_of(src, **kw): return baseline_learner(dls_of(src, bs=8), pretrained=False, log=False, run_dir=r/'runs', **kw)
    def ledger(name, *recs):
        led = Ledger(r/'ledgers'/f'{name}.jsonl')
        for rec in recs: led.record(*rec)
        return led
    def hand_ledger(name, text):
        p = r/'ledgers'/f'{name}.jsonl'; p.parent.mkdir(parents=True, exist_ok=True); p.write_text(text); return Ledger(p)
    t5 = load_items(r/'ten_by_five') if (r/'ten_by_five').exists() else None
    f0 = lambda: load_items(r/'ten_by_five').fname[0]
    return [
        # missing or malformed sources
        Case('path that does not exist', "load_items('nope/')", lambda: load_items(r/'nope')),
        Case('a file that is neither folder nor CSV', "load_items('notes.pdf')", lambda: load_items(r/'notes.pdf')),
        Case('an empty folder', "load_items('nothing/')", lambda: load_items(r/'nothing')),
        Case('images loose in the root, no class folders', "load_items('loose/')", lambda: load_items(r/'loose')),
        Case('list naming a missing file', "load_items([... 'nope.png'])", lambda: load_items([r/'csvimg'/'0.png', r/'nope.png'])),
        Case('CSV naming missing files', "load_items('missing.csv')", lambda: load_items(r/'missing.csv')),
        Case('CSV with duplicate rows', "load_items('dup_rows.csv')", lambda: _items_summary(load_items(r/'dup_rows.csv'))),
        Case('CSV giving one file two labels', "load_items('dup_conflict.csv')", lambda: _items_summary(load_items(r/'dup_conflict.csv'))),
        Case('CSV with an empty label', "load_items('empty_label.csv')", lambda: load_items(r/'empty_label.csv')),
        Case("CSV labels with '/' and '..'", "load_items('slash_label.csv')", lambda: _items_summary(load_items(r/'slash_label.csv'))),
        Case('CSV labels with leading spaces', "load_items('space_label.csv')", lambda: _items_summary(load_items(r/'space_label.csv'))),
        Case('CSV labels in non-ASCII', "load_items('nonascii_label.csv')", lambda: _items_summary(load_items(r/'nonascii_label.csv'))),
        Case('CSV not in UTF-8 (Latin-1)', "load_items('latin1.csv')", lambda: _items_summary(load_items(r/'latin1.csv'))),
        Case('CSV without a label column', "load_items('no_label_col.csv')", lambda: load_items(r/'no_label_col.csv')),
        Case("CSV is_valid column holding 'maybe'", "load_items('bad_valid.csv')", lambda: load_items(r/'bad_valid.csv')),
        Case('CSV with a header and no rows', "load_items('empty.csv')", lambda: load_items(r/'empty.csv')),
        Case('CSV marking a row both is_valid and is_test', "load_items('both_splits.csv')", lambda: load_items(r/'both_splits.csv')),
        Case('items holding the test split', "dataloaders(items)  # is_test rows", lambda: dataloaders(load_items(r/'ten_by_five').assign(is_test=lambda d: d.index % 5 == 0), size=16)),
        # broken images
        Case('broken, odd and looping image files', "scan('images/')",
             lambda: f"{(~(d := sc(r/'images')).readable).sum()} of {len(d)} files unreadable, each with a reason"),
        Case('broken, odd and looping image files', "find_issues(scan('images/'))",
             lambda: f"{len(find_issues(sc(r/'images')).summary)} kinds of issue found"),
        Case('broken image files, not dropped', "dataloaders(load_items('images/')).one_batch()",
             lambda: [dls_of(r/'images', bs=64).train.one_batch(), dls_of(r/'images', bs=64).valid.one_batch()] and 'decoded'),
        Case('broken image files, dropped by apply', "dataloaders(apply(items, scan=scan(items))).one_batch()",
             lambda: (dataloaders(apply(load_items(r/'images'), scan=sc(r/'images')), size=16, bs=4).train.one_batch(), 'decoded')[1]),
        Case('broken image files', "review(candidates(items, find_issues(scan(items))), ledger)",
             lambda: _widget_tiles(review(candidates(load_items(r/'images'), find_issues(sc(r/'images'))), r/'ledgers'/'w.jsonl'))),
        Case('a CSV naming missing files', "scan('missing.csv')", lambda: sc(r/'missing.csv')),
        Case('an empty scan table', "find_issues(scan(...).iloc[:0])", lambda: repr(find_issues(sc(r/'ten_by_five').iloc[:0]))),
        Case('probabilities of the wrong shape', "label_issues(items, probs=np.zeros((3, 2)))",
             lambda: label_issues(t5, probs=np.zeros((3, 2)))),
        # small or odd class structure
        Case('10 classes x 5 images', "dataloaders(load_items('ten_by_five/'))",
             lambda: f"{(d := dls_of(r/'ten_by_five')).train.n} train / {d.valid.n} valid; {len(d.train)} train batches"),
        Case('10 classes x 5 images', "subset(items, 20)", lambda: f"{subset(t5, 20).label.nunique()} classes in 20 images"),
        Case('10 classes x 5 images', "subset(items, 100)", lambda: subset(t5, 100)),
        Case('10 classes x 5 images', "baseline_learner(dls, bs=64)",
             lambda: baseline_learner(dls_of(r/'ten_by_five'), pretrained=False, log=False, run_dir=r/'runs')),
        Case('10 classes x 5 images', "inspect_batch(dls, bs=64)", lambda: inspect_batch(dls_of(r/'ten_by_five'))),
        Case('10 classes x 5 images', "inspect_batch(dataloaders(items, bs=8))", lambda: repr(inspect_batch(dls_of(r/'ten_by_five', bs=8))).splitlines()[0]),
        Case('10 classes x 5 images', "sanity_checks(baseline_learner(dls, bs=8))",
             lambda: (lambda df: f"{int(df.passed.sum())} of {len(df)} checks passed")(
                 sanity_checks(learn_of(r/'ten_by_five'), n_steps=2, n_batches=1).df)),
        Case('10 classes x 5 images', "out_of_fold(items, folds=10)", lambda: out_of_fold(t5, folds=10, progress=False)),
        Case('a class with a single image', "load_items('single/')", lambda: _items_summary(load_items(r/'single'))),
        Case('a class with a single image', "check_dls(dataloaders(items))", lambda: repr(check_dls(dls_of(r/'single')))),
        Case('a class with a single image', "out_of_fold(items)", lambda: out_of_fold(load_items(r/'single'), progress=False)),
        Case('valid holds a class absent from training', "load_items('unseen/')", lambda: _items_summary(load_items(r/'unseen'))),
        Case('valid holds a class absent from training', "dataloaders(items)", lambda: dls_of(r/'unseen')),
        Case('valid holds a class absent from training', "check_dls(DataBlock(...).dataloaders(items))",
             lambda: check_dls(_own_dls(load_items(r/'unseen')))),
        Case('valid holds a class absent from training', "check_dls(dataloaders(items))", lambda: check_dls(dls_of(r/'unseen'))),
        Case('no validation split', "dataloaders(load_items(src, valid_pct=0))",
             lambda: dataloaders(load_items(r/'ten_by_five', valid_pct=0), size=16)),
        Case('items without the columns', "dataloaders(pd.DataFrame(dict(path=[...])))",
             lambda: dataloaders(pd.DataFrame(dict(path=['x.png'])))),
        Case('subset of size 0', "subset(items, 0)", lambda: subset(t5, 0)),
        # read-only data
        Case('a read-only dataset folder', "scan('readonly/') + find_issues",
             lambda: f"{len(sc(r/'readonly'))} files scanned, {len(find_issues(sc(r/'readonly')).flagged)} flagged"),
        Case('a read-only dataset folder', "dataloaders(load_items('readonly/')).one_batch()",
             lambda: (dls_of(r/'readonly', bs=2).one_batch(), 'decoded')[1]),
        Case('a read-only dataset folder', "materialize(ledger excluding a file, 'readonly/')",
             lambda: materialize(ledger('ro', (load_items(r/'readonly').fname[0], 'a', 'exclude')), r/'readonly',
                                 quarantine=r/'ro.quarantine')),
        # review decisions and the ledger
        Case("relabel to '../x'", "Ledger.record(f, 'a', 'relabel', '../x')", lambda: ledger('t1', (f0(), 'c0', 'relabel', '../x'))),
        Case("relabel to '/etc'", "Ledger.record(f, 'a', 'relabel', '/etc')", lambda: ledger('t2', (f0(), 'c0', 'relabel', '/etc'))),
        Case("relabel to 'a/../../b'", "Ledger.record(f, 'a', 'relabel', 'a/../../b')", lambda: ledger('t3', (f0(), 'c0', 'relabel', 'a/../../b'))),
        Case("relabel to '..'", "check_label('..')", lambda: check_label('..')),
        Case("relabel to ' cat' (leading space)", "check_label(' cat')", lambda: check_label(' cat')),
        Case('relabel to a non-ASCII name', "check_label('chat é')", lambda: check_label('chat é')),
        Case('unknown decision', "Ledger.record(f, 'a', 'delete')", lambda: ledger('t4', (f0(), 'c0', 'delete'))),
        Case("hand-edited ledger relabelling to '../x'", "apply(items, ledger)",
             lambda: apply(t5, hand_ledger('h1', f'{{"path": "{f0()}", "old_label": "c0", "decision": "relabel", "new_label": "../x"}}\n'))),
        Case('hand-edited ledger with an unknown decision', "apply(items, ledger)",
             lambda: apply(t5, hand_ledger('h2', f'{{"path": "{f0()}", "old_label": "c0", "decision": "delete"}}\n'))),
        Case('hand-edited ledger with an unknown decision', "review(candidates(items), ledger)",
             lambda: review(candidates(t5), hand_ledger('h2b', f'{{"path": "{f0()}", "old_label": "c0", "decision": "delete"}}\n'))),
        Case('ledger holding code instead of JSON', "apply(items, ledger)",
             lambda: f"{len(apply(t5, hand_ledger('h3', _CODE)))} items; the line is skipped, never run"),
        Case('ledger with a torn last line', "Ledger.read()",
             lambda: f"{len(hand_ledger('h4', _TORN).read())} decision read, the torn line skipped"),
        Case('ledger excluding a file outside the dataset', "materialize(ledger, root)",
             lambda: materialize(ledger('o1', ('/etc/passwd', 'x', 'exclude')), r/'ten_by_five')),
        Case("ledger excluding 'root/../outside.png'", "materialize(ledger, root)",
             lambda: materialize(ledger('o2', (str(r/'ten_by_five'/'..'/'csvimg'/'0.png'), 'x', 'exclude')), r/'ten_by_five')),
        Case('quarantine inside the dataset', "materialize(ledger, root, quarantine=root/'q')",
             lambda: materialize(ledger('o3'), r/'ten_by_five', quarantine=r/'ten_by_five'/'q')),
        Case('undo on a folder that is no quarantine', "undo('ten_by_five/')", lambda: undo(r/'ten_by_five')),
        Case('a dataset folder that does not exist', "materialize(ledger, 'nope/')", lambda: materialize(ledger('o4'), r/'nope')),
    ]

@dataclass
class Outcome:
    name:str
    call:str
    ok:bool          # it worked
    result:str       # what it returned, or the error message
    error:str=''     # the exception type
    where:str=''     # the module the error was raised in
    warning:str=''   # a warning it issued

def run(case:Case)->Outcome:
    "Call one case; catch what it raises or warns."
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: res = case.fn()
        except Exception as e:
            tb = traceback.extract_tb(e.__traceback__)
            where = Path(tb[-1].filename).parent.name + '/' + Path(tb[-1].filename).name if tb else ''
            out = Outcome(case.name, case.call, False, str(e), type(e).__name__, where)
        else:
            desc = res if isinstance(res, str) else type(res).__name__
            out = Outcome(case.name, case.call, True, desc)
    mine = [str(w.message) for w in ws if 'nnrecipe' in str(w.filename) or 'badinput' in str(w.filename)]
    out.warning = mine[0] if mine else ''
    return out

_DO = ('pass', 'give', 'fix', 'use', 'drop', 'put', 'move', 'choose', 'lower', 'add', 'hold', 'check', 'name',
       'remove', 'run', 'leave', 'pick', 'copy', 'build', 'keep', 'save', 'make', 'rename')

def judge(o:Outcome)->str:
    "'' when the outcome is acceptable, else what is wrong with it."
    if o.ok: return ''
    if not o.where.startswith('nnrecipe/'): return f"raised from {o.where}, not by nnrecipe"
    if len(o.result) < 30: return 'message too short to act on'
    if not any(w in o.result.lower() for w in _DO): return 'message says nothing to do'
    return ''

def run_cases(root)->pd.DataFrame:
    "Build the corpus under `root` if needed, run every case, return the table."
    root = Path(root)
    if not (root/'ten_by_five').exists(): corpus(root)
    outs = [run(c) for c in cases(root)]
    df = pd.DataFrame([o.__dict__ for o in outs])
    df['verdict'] = [judge(o) or ('works' if o.ok else 'clear error') for o in outs]
    return df

def table(df:pd.DataFrame, width:int=220)->str:
    "The outcomes as a markdown table."
    cut = lambda s: (s[:width] + ' …') if len(s) > width else s
    esc = lambda s: cut(str(s)).replace('|', '\\|').replace('\n', ' ')
    lines = ['| input | call | outcome | what you read |', '|---|---|---|---|']
    for r in df.itertuples():
        said = r.result if not r.ok else (r.result + (f" — warns: {r.warning}" if r.warning else ''))
        kind = 'works' if r.ok else f"{r.error}"
        lines.append(f"| {esc(r.name)} | `{esc(r.call)}` | {kind} | {esc(said)} |")
    return '\n'.join(lines)

def cleanup(root):
    "Make the read-only parts writable again and delete the corpus."
    root = Path(root)
    for p in root.rglob('*'):
        try:
            if not p.is_symlink(): os.chmod(p, 0o755 if p.is_dir() else 0o644)
        except OSError: pass
    shutil.rmtree(root, ignore_errors=True)

# ---------------------------------------------------------------------------------------------------------------
# Faults: writers and movers killed with SIGKILL at random moments
import hashlib, json, random, signal, time

def _acks(fd:int)->list:
    "Every complete line a killed child wrote to its pipe."
    data = b''
    while chunk := os.read(fd, 1 << 16): data += chunk
    os.close(fd)
    return data.decode().split('\n')[:-1]   # the part after the last newline was cut by the kill

def _writer(path, tag:str, seed:int, w:int, torn:bool):
    "Child: append decisions forever, acknowledging each on `w` once `record` returned; `torn`: die inside a write."
    from nnrecipe.ledger import Ledger, DECISIONS
    rng, led = random.Random(seed), Ledger(path)
    torn_at = rng.randrange(0, 3) if torn else -1
    for i in range(10**9):
        if i == torn_at:   # a write cut in the middle: half a record reaches the file, then death
            import fcntl   # as a writer holding the ledger's lock would: the kernel frees it at the kill
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, b'{"path": "/data/torn", "old_label": "a", "deci'); os.kill(os.getpid(), signal.SIGKILL)
        d = DECISIONS[i % 4]
        led.record(f'/data/{tag}/{i} é.png', 'a', d, 'b' if d == 'relabel' else None,
                   reason='x'*rng.choice([0, 10, 5000, 70000]))   # records larger than a pipe or a page, too
        os.write(w, f'/data/{tag}/{i} é.png\n'.encode())

def kill_ledger_writers(path, kills:int=30, writers:int=2, seed:int=0, max_wait:float=0.08)->dict:
    "Run `writers` ledger writers at once, SIGKILL them after a random time, `kills` rounds; count what was lost."
    from nnrecipe.ledger import Ledger
    rng, acked, torn, killed = random.Random(seed), [], 0, 0
    for k in range(kills):
        kids = []
        for j in range(writers):
            r, w = os.pipe()
            is_torn = rng.random() < 0.4
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try: _writer(path, f'k{k}w{j}', seed*1000 + k*10 + j, w, is_torn)
                finally: os._exit(0)
            os.close(w); kids.append((pid, r)); torn += is_torn
        time.sleep(rng.uniform(0.02, max_wait))
        for pid,r in kids:
            try: os.kill(pid, signal.SIGKILL)
            except ProcessLookupError: pass
        for pid,r in kids:
            acked += _acks(r)
            _, status = os.waitpid(pid, 0)
            killed += os.WIFSIGNALED(status)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # torn lines are expected here
        recs = Ledger(path).read()
    lost = set(acked) - set(recs.path)
    torn = 0
    for line in Path(path).read_text(encoding='utf-8').splitlines():   # records cut in the middle of a write
        try: json.loads(line)
        except ValueError: torn += 1
    return dict(rounds=kills, processes_killed=killed, torn_writes=torn, acked=len(acked), records_read=len(recs),
                lost=len(lost), lost_example=next(iter(lost), None))

def checksums(root)->dict:
    "Relative path -> blake2 hash of every file under `root`."
    root = Path(root)
    return {str(p.relative_to(root)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}

def _lines(p:Path)->int:
    try: return p.read_bytes().count(b'\n')
    except OSError: return 0

def _killed_when(fn, journal:Path, n_lines:int, extra:float, timeout:float=60)->bool:
    "Run `fn` in a forked child; SIGKILL it `extra` seconds after `journal` holds `n_lines` lines. True if it was still running."
    pid = os.fork()
    if pid == 0:
        try: fn()
        finally: os._exit(0)
    t = time.time()
    while _lines(journal) < n_lines and time.time() - t < timeout:
        if os.waitpid(pid, os.WNOHANG)[0]: return False   # finished before the kill
        time.sleep(0.0005)
    time.sleep(extra)
    try: os.kill(pid, signal.SIGKILL)
    except ProcessLookupError: pass
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)

def kill_materialize(work, rounds:int=8, n:int=40, seed:int=0)->dict:
    "Materialize, SIGKILL it, (sometimes undo and kill that too), undo: the dataset must come back byte for byte."
    from nnrecipe.ledger import Ledger, materialize, undo
    rng, work = random.Random(seed), Path(work)
    root = work/'data'
    for i in range(n): _png(root/f'c{i % 3}'/f'{i} é.png', 7000 + i, size=64)
    before = checksums(root)
    led = Ledger(work/'m.jsonl')
    for i,f in enumerate(sorted(root.rglob('*.png'))):
        if i % 3: led.record(f, f.parent.name, 'exclude')
    moved = len(materialize(led, root, quarantine=work/'q_first')); undo(work/'q_first')
    assert checksums(root) == before, 'materialize + undo without interruption changed the dataset'
    out = dict(rounds=rounds, materialize_killed=0, undo_killed=0, restored=0, files_moved=moved)
    for k in range(rounds):
        q = work/f'q{k}'
        # the kill lands a random moment after a random journal record: between any two steps of a move
        at, extra = rng.randrange(0, 2*moved - 2), rng.uniform(0, 0.004)   # at least one move or restore left
        if k % 2 == 0:   # materialize killed half-way, then undo
            out['materialize_killed'] += _killed_when(lambda: materialize(led, root, quarantine=q), q/'journal.jsonl', at, extra)
        else:            # materialize done, undo killed half-way, then undo again
            materialize(led, root, quarantine=q)
            out['undo_killed'] += _killed_when(lambda: undo(q), q/'journal.jsonl', 2*moved + at//2 - 1, extra)
        if (q/'journal.jsonl').exists(): undo(q)
        out['restored'] += checksums(root) == before
    return out

def shown(df:pd.DataFrame, root)->pd.DataFrame:
    "The table for people: input, call, outcome, and the message or warning with the corpus folder left out of paths."
    rel = lambda s: str(s).replace(str(Path(root)) + os.sep, '')
    said = [rel(r.result if not r.ok else r.result + (f" (warns: {r.warning})" if r.warning else '')) for r in df.itertuples()]
    return pd.DataFrame({'input': df.name, 'call': df.call,
                         'outcome': ['works' if o else e for o,e in zip(df.ok, df.error)], 'what you read': said})
