"""The runner under faults (issue 10, item 3) and what it lets in (item 4), on tiny synthetic notebooks so each test
takes seconds: a run killed mid-step (SIGINT, SIGKILL) resumes without redoing finished steps; a NaN loss stops the
step with the history kept; a CUDA out-of-memory error names the batch size to try; the report is self-contained;
nothing loads a pickle from outside the run folder or executes strings."""
import ast, json, os, re, signal, subprocess, sys, time
from pathlib import Path
import nbformat, pytest
from nnrecipe.runner import run_recipe, StepFailed, main
from nnrecipe.report import write_report

ROOT = Path(__file__).resolve().parents[1]

def _nb(path, src, params="out_dir = None\nquick = False\nbs = 64"):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f'# Step {path.stem}'),
                                         nbformat.v4.new_code_cell(params, metadata={'tags': ['parameters']}),
                                         nbformat.v4.new_code_cell(src)])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'python3', 'language': 'python'}
    nbformat.write(nb, path)
    return path

_LOG = "from pathlib import Path\nout = Path(out_dir)\nwith open(out/'log.txt', 'a') as f: f.write('{name}\\n')\n"

def _steps(d):
    "Three steps; the middle one sleeps while `slow.flag` exists in the run folder."
    d.mkdir(parents=True, exist_ok=True)
    return [_nb(d/'00_fast.ipynb', _LOG.format(name='00_fast')),
            _nb(d/'01_slow.ipynb', _LOG.format(name='01_slow') + "import time\nwhile (out/'slow.flag').exists(): (out/'heartbeat').touch(); time.sleep(0.2)"),
            _nb(d/'02_last.ipynb', _LOG.format(name='02_last'))]

def _log(run): return (run/'log.txt').read_text().split() if (run/'log.txt').exists() else []

@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGKILL], ids=['SIGINT', 'SIGKILL'])
def test_killed_mid_step_resumes_without_redoing(tmp_path, sig):
    nbs, run = _steps(tmp_path/'nbs'), tmp_path/'run'
    run.mkdir(); (run/'slow.flag').touch()
    code = (f"from nnrecipe.runner import run_recipe\n"
            f"run_recipe({str(run)!r}, notebooks={[str(p) for p in nbs]!r}, progress=False)")
    # a shell's background job (`make test &`, CI wrappers) ignores SIGINT, and children inherit that: restore the default
    proc = subprocess.Popen([sys.executable, '-c', code], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(600):  # the slow step has started
            if '01_slow' in _log(run) or proc.poll() is not None: break
            time.sleep(0.1)
        assert '01_slow' in _log(run), f'the slow step never started: {proc.communicate(timeout=5)}'
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=180)  # generous: the machine may be loaded
        assert proc.returncode != 0
        steps = json.loads((run/'run.json').read_text())['steps']
        assert [s['notebook'] for s in steps] == ['00_fast.ipynb', '01_slow.ipynb']
        assert steps[0]['status'] == 'done'
        assert steps[1]['status'] == ('interrupted' if sig == signal.SIGINT else 'running')
        if sig == signal.SIGINT: assert (run/'report.html').exists()  # written for what exists
        for _ in range(150):  # the step's kernel stops with the runner: no orphan keeps running in the run folder
            if time.time() - (run/'heartbeat').stat().st_mtime > 3: break
            time.sleep(0.2)
        assert time.time() - (run/'heartbeat').stat().st_mtime > 3, 'the killed step is still running'
    finally:
        try: os.killpg(proc.pid, signal.SIGKILL)  # the killed runner's kernel, if it outlived it
        except ProcessLookupError: pass
    (run/'slow.flag').unlink()
    res = run_recipe(run, notebooks=nbs, progress=False)
    assert res.status.tolist() == ['kept', 'done', 'done']
    assert _log(run) == ['00_fast', '01_slow', '01_slow', '02_last']  # step 0 ran once; the killed step again
    assert json.loads((run/'run.json').read_text())['steps'][0]['seconds'] > 0  # a kept step keeps its time
    if sig == signal.SIGINT:  # a review decision since: the items change, so every step runs again
        from nnrecipe.ledger import Ledger
        Ledger(run/'review.jsonl').record('a.png', 'cat', 'exclude')
        assert run_recipe(run, notebooks=nbs, progress=False).status.tolist() == ['done', 'done', 'done']
        assert run_recipe(run, notebooks=nbs, progress=False).status.tolist() == ['kept', 'kept', 'kept']

def test_fresh_run_does_not_read_back_checkpoints(tmp_path):
    "`--fresh` (resume=False) trains again what a step checkpointed before, and keeps the old lines on disk."
    step = _nb(tmp_path/'00_ck.ipynb', "from pathlib import Path\nfrom nnrecipe.core import Checkpoints\nout = Path(out_dir)\n"
               "ck = Checkpoints(out/'04_checkpoints', 'ladder'); row = ck.get('rung')\n"
               "if row is None: ck.put('rung', {'metric': 0.5})\n"
               "with open(out/'log.txt', 'a') as f: f.write(('resumed' if row else 'trained') + '\\n')")
    run = tmp_path/'run'
    run_recipe(run, notebooks=[step], progress=False, report=False)
    (run/'run.json').unlink()  # the step itself runs again; only its checkpoint could make it skip the work
    run_recipe(run, notebooks=[step], progress=False, report=False)
    run_recipe(run, notebooks=[step], progress=False, report=False, resume=False)
    assert _log(run) == ['trained', 'resumed', 'trained']
    assert len((run/'04_checkpoints'/'ladder.jsonl').read_text().splitlines()) == 2  # nothing lost
    assert 'NNRECIPE_FRESH_SINCE' not in os.environ

def test_nan_loss_stops_the_step_with_history_kept(tmp_path):
    nan = _nb(tmp_path/'01_nan.ipynb',
              "from pathlib import Path\nfrom fastai.test_utils import synth_learner\nfrom nnrecipe.history import RawHistoryCallback\n"
              "learn = synth_learner(n_trn=8, lr=1e12, cbs=RawHistoryCallback(Path(out_dir)/'01_nan'/'history', tensorboard=False))\n"
              "learn.fit(3)")
    after = _nb(tmp_path/'02_after.ipynb', "x = 1")
    with pytest.raises(StepFailed) as e: run_recipe(tmp_path/'run', notebooks=[nan, after], progress=False)
    msg = str(e.value)
    assert 'Step 01_nan.ipynb stopped: the training loss became' in msg and 'Lower the learning rate' in msg, msg
    assert 'resumes at this step' in msg
    assert (tmp_path/'run'/'01_nan'/'history'/'steps.csv').exists()
    steps = json.loads((tmp_path/'run'/'run.json').read_text())['steps']
    assert [(s['notebook'], s['status']) for s in steps] == [('01_nan.ipynb', 'diverged')]
    rep = (tmp_path/'run'/'report.html').read_text()
    assert 'diverging' in rep and 'data:image/png;base64,' in rep  # the finding and the history's plot

def test_out_of_memory_names_a_batch_size(tmp_path):
    oom = _nb(tmp_path/'00_oom.ipynb', "import torch\nraise torch.cuda.OutOfMemoryError("
              "'CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.90 GiB total capacity)')")
    with pytest.raises(StepFailed) as e: run_recipe(tmp_path/'run', notebooks=[oom], progress=False, bs=48)
    assert 'ran out of memory at batch size 48: run again with --bs 24' in str(e.value), str(e.value)
    assert 'OutOfMemoryError' in json.loads((tmp_path/'run'/'run.json').read_text())['steps'][0]['error']

def test_cli_ends_with_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(signal, 'signal', lambda *a: None)  # main() would install its SIGTERM handler in pytest's process
    d = tmp_path/'nbs'; d.mkdir()
    _nb(d/'00_one.ipynb', "from pathlib import Path\nimport json\n(Path(out_dir)/'00_one.json').write_text(json.dumps({'answer': 42}))")
    monkeypatch.setenv('NNRECIPE_NOTEBOOKS', str(d))
    main(['demo', '--quick', '--out', str(tmp_path/'run')])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"Report: {tmp_path/'run'/'report.html'}"
    rep = (tmp_path/'run'/'report.html').read_text()
    assert 'Step 00_one' in rep and '<th>answer</th><td>42</td>' in rep

def test_report_of_the_recipe_run_is_self_contained(recipe_run):
    from bs4 import BeautifulSoup
    from nnrecipe.runner import recipe_notebooks
    rep = recipe_run/'report.html'
    assert rep.exists(), 'run_recipe should write report.html at the end'
    s = BeautifulSoup(rep.read_text(), 'html.parser')
    for tag, attr in (('img', 'src'), ('script', 'src'), ('link', 'href'), ('iframe', 'src')):
        for el in s.find_all(tag):
            assert el.get(attr, '').startswith('data:'), f'<{tag} {attr}={el.get(attr)!r}> is not embedded'
    assert len(s.find_all('img')) >= len(list(recipe_run.glob('*.png')))  # every plot, plus the loss histories
    for p in recipe_notebooks(): assert s.find(id=p.stem), f'no section for {p.name}'
    text = s.get_text()
    assert 'Recipe doctor' in text and 'rule' in text
    base = json.loads((recipe_run/'run.json').read_text())['steps']
    assert any(st['notebook'] == '02_baseline.ipynb' and st.get('verdict') for st in base), 'the baseline step has no doctor verdict'
    # written again on demand, identical apart from its timestamp
    again = write_report(recipe_run, recipe_run.parent/'again.html').read_text()
    strip = lambda t: re.sub(r'written [\d: -]+', '', t)
    assert strip(again) == strip(rep.read_text())

# ---- nothing let in ------------------------------------------------------------------------------------------------

_UNSAFE = {'eval', 'exec', 'compile', '__import__'}

def test_no_code_path_executes_strings_or_unpickles_foreign_files():
    "eval/exec/pickle/torch.load (unless weights_only=True)/DataFrame.query/eval: none, except load_learner in load_model."
    found = []
    for f in sorted((ROOT/'nnrecipe').glob('*.py')):
        tree = ast.parse(f.read_text())
        owner_of = {}  # each call: the innermost function holding it
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for n in ast.walk(fn): owner_of[n] = fn
        for n in ast.walk(tree):
                if not isinstance(n, ast.Call): continue
                fn = owner_of.get(n, tree)
                name = n.func.id if isinstance(n.func, ast.Name) else n.func.attr if isinstance(n.func, ast.Attribute) else ''
                owner = n.func.value.id if isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) else ''
                wo = any(k.arg == 'weights_only' and getattr(k.value, 'value', None) is True for k in n.keywords)
                if (isinstance(n.func, ast.Name) and name in _UNSAFE) or (owner in ('pickle', 'dill', 'marshal') and name.startswith('load')) \
                   or (owner == 'torch' and name == 'load' and not wo) or name in ('query', 'literal_eval') \
                   or (name == 'eval' and isinstance(n.func, ast.Attribute) and n.args) or name == 'load_learner':
                    found.append((f.name, getattr(fn, 'name', '<module>'), name))
    assert sorted(set(found)) == [('core.py', 'load_model', 'load_learner')], sorted(set(found))

def test_load_model_refuses_foreign_files(tmp_path):
    from nnrecipe.core import load_model
    (tmp_path/'models').mkdir()
    (tmp_path/'models'/'evil.pkl').write_bytes(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.")
    with pytest.raises(PermissionError, match='was not saved by this run'): load_model(tmp_path, 'evil')
    (tmp_path/'models'/'models.json').write_text(json.dumps({'evil.pkl': {'sha256': '0'*64}}))
    with pytest.raises(PermissionError, match='changed since this run saved it'): load_model(tmp_path, 'evil')
    with pytest.raises(ValueError, match='not a plain file name'): load_model(tmp_path, '../../etc/evil')

def test_start_here_maps_every_step():
    "The start-here map names every recipe notebook, with a row in the cost table."
    from nnrecipe.runner import recipe_notebooks
    nb = nbformat.read(ROOT/'recipe_nb'/'00_start_here.ipynb', as_version=4)
    md = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
    cost = md[md.index('## What each step costs'):]
    for p in recipe_notebooks():
        assert f'`{p.stem}`' in md[:md.index('## What each step costs')], f'{p.stem} is not on the map'
        assert f'| `{p.stem}` |' in cost, f'{p.stem} has no row in the cost table'
    assert 'GPU' in cost and 'not measured' in cost
