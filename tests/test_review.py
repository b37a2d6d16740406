"Look at the data: the recipe step's outputs, bad input end to end, a durable ledger, and label issues found."
import json, os, shutil, subprocess, sys, tempfile, textwrap
from pathlib import Path
import pytest
from nnrecipe.data import digits, load_items, dataloaders
from nnrecipe.scan import scan, bad_images
from nnrecipe.issues import find_issues
from nnrecipe.ledger import Ledger, apply
from nnrecipe.review import candidates, review
from nnrecipe.label_issues import flip_labels, label_issues, _oof_cnn

def test_recipe_step(recipe_run):
    res = json.loads((recipe_run/'01_look_at_the_data.json').read_text())
    assert (res['n_files'], res['n_unreadable'], res['n_clean']) == (1798, 1, 1797)  # the digits + one undecodable PNG
    assert res['batch']['shape'] == [64, 3, 32, 32] and res['batch']['warnings'] == []
    assert sum(res['batch']['labels'].values()) == 64
    assert {r['issue'] for r in res['issue_summary']} == set(res['issues'])
    li = res['label_issues']
    assert li['n_checked'] == 1797 - 179 and li['oof_accuracy'] > 0.9  # the test split stays out; minutes: bench/bench_label_issues.py
    assert li['n'] < 0.02*li['n_checked'], li['n']      # the digits' labels are nearly all right: few are flagged
    assert all(Path(t['fname']).exists() for t in li['top'])
    for png in ('01_issues.png', '01_batch.png'):
        assert (recipe_run/png).stat().st_size > 5_000, png
    assert (recipe_run/'01_label_issues.png').exists()
    assert Path(res['ledger']).parent == recipe_run

def _without_root_reads()->list:
    "A command prefix that takes from root the power to read any file, so that mode 000 really means unreadable."
    if os.geteuid() != 0: return []
    if not shutil.which('setpriv'): pytest.skip('running as root without setpriv (util-linux): cannot make a file unreadable')
    return ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--']

def test_bad_input_end_to_end():
    "scan finishes on every kind of broken file with a reason for each; training on the applied items skips them."
    d = Path(tempfile.mkdtemp(prefix='nnr_bad_'))
    try:
        root = bad_images(d/'bad')
        code = textwrap.dedent(f"""
            import json, os
            from nnrecipe.scan import scan
            df = scan({str(root)!r}, cache=False, progress=False)
            print(json.dumps(dict(zip(df.fname.map(lambda f: os.path.relpath(f, {str(root)!r})), df.error.fillna('ok')))))
        """)
        env = {**os.environ, 'NNRECIPE_DATA': str(d/'cache')}
        p = subprocess.run([*_without_root_reads(), sys.executable, '-W', 'ignore', '-c', code], capture_output=True,
                           text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        why = json.loads(p.stdout.strip().splitlines()[-1])
        assert why['broken/noperm.png'] == 'cannot read: permission denied'
        assert why['broken/zero.jpg'] == 'empty file (0 bytes)'
        assert why['broken/truncated.jpg'].startswith('truncated')
        assert why['broken/text.png'].startswith('not an image')
        assert 'too large to decode' in why['broken/bomb.png']
        assert all(why[f] == 'ok' for f in ('broken/png_named.jpg', 'modes/cmyk.jpg', 'modes/gray16.png',
                                            'modes/palette.png', 'modes/rotated.jpg', 'good/with space é ü.png'))
        assert sum(v.startswith('symlink loop') for v in why.values()) >= 1
        # as root the unreadable file reads fine, so train here on what the unprivileged scan could read
        df = scan(root, cache=False, progress=False).assign(readable=lambda t: t.fname.map(
            lambda f: why[os.path.relpath(f, root)] == 'ok'))
        issues = find_issues(df)
        c = issues.counts()
        assert c['unreadable'] == (~df.readable).sum() and c['empty_class'] == 1 and c['rotated'] == 1
        clean = apply(load_items(root), scan=df)
        assert len(clean) == df.readable.sum() and clean.fname.map(lambda f: why[os.path.relpath(f, root)] == 'ok').all()
        from fastai.vision.all import Learner, CrossEntropyLossFlat
        dls = dataloaders(clean, size=32, bs=4)
        learn = Learner(dls, _oof_cnn(len(dls.vocab)), loss_func=CrossEntropyLossFlat())
        with learn.no_logging(), learn.no_bar(): learn.fit(1)    # every file it sees decodes
    finally:
        for f in d.rglob('noperm.png'): os.chmod(f, 0o644)
        shutil.rmtree(d, ignore_errors=True)

def test_ledger_survives_crash_and_concurrent_writers(tmp_path):
    "Records written by processes that die without closing anything, two at a time, are all there."
    led = tmp_path/'review.jsonl'
    code = textwrap.dedent(f"""
        import os, sys
        from nnrecipe.ledger import Ledger
        l = Ledger({str(led)!r})
        for i in range(100): l.record(f'/data/{{sys.argv[1]}}/{{i}}.png', 'a', 'exclude' if i % 2 else 'keep')
        os._exit(0)   # no clean-up: only what was fsynced counts
    """)
    procs = [subprocess.Popen([sys.executable, '-c', code, w]) for w in ('w1', 'w2')]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    recs = Ledger(led).read()
    assert len(recs) == 200 and recs.path.nunique() == 200
    assert (Ledger(led).latest().decision == 'exclude').sum() == 100

def test_review_widget_after_kernel_restart(tmp_path):
    "A widget built in a fresh process from the same candidates and ledger shows the decisions made here."
    items = load_items(digits())
    cands = candidates(items.iloc[::10])
    led = tmp_path/'review.jsonl'
    rv = review(cands, led, page_size=8)
    rv.tiles[0].buttons['exclude'].click()
    rv.tiles[2].relabel.value = rv.tiles[2].relabel.options[1][1]
    rv.next.click(); rv.tiles[0].buttons['unsure'].click()
    cands.to_csv(tmp_path/'cands.csv', index=False)
    code = textwrap.dedent(f"""
        import json, pandas as pd
        from nnrecipe.review import review
        rv = review(pd.read_csv({str(tmp_path/'cands.csv')!r}, dtype={{'label': str}}), {str(led)!r}, page_size=8)
        first = [t.status.value for t in rv.tiles]
        rv.next.click()
        print(json.dumps(dict(decisions=rv.decisions, first=first, second=[t.status.value for t in rv.tiles])))
    """)
    p = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert {k: tuple(v) for k,v in out['decisions'].items()} == rv.decisions and len(rv.decisions) == 3
    assert 'exclude' in out['first'][0] and '→' in out['first'][2] and 'not reviewed' in out['first'][1]
    assert "can't tell" in out['second'][0]

def test_label_issues_found_on_flipped_digits():
    "5% of the digits' labels flipped at random: the default cheap setting finds most of them and little else."
    items = flip_labels(load_items(digits()), 0.05, seed=0)
    li = label_issues(items, repeats=1, progress=False)   # 5 folds of small_cnn, 8 epochs at 16 px, once (half the default)
    sc = li.score(items.fname[items.flipped])
    # bench/bench_label_issues.py measures the goal (precision >= 0.95, recall >= 0.89) over several seeds;
    # one run varies by a few images, so this guards against a broken pipeline, not a lost percent
    assert sc['precision'] >= 0.85 and sc['recall'] >= 0.8, sc
