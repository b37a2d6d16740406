"The foundation's promises: an idempotent venv, a cached dataset, the sync guard, the command line."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
import nnrecipe
from nnrecipe.data import digits

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def test_version_importable():
    out = subprocess.run([sys.executable, '-c', 'import nnrecipe; print(nnrecipe.__version__)'],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == nnrecipe.__version__ and out.count('.') == 2

@pytest.mark.skipif(not list(Path(sys.prefix).glob('.nnrecipe-*')), reason='venv not made by `make venv`')
def test_make_venv_is_a_noop_when_up_to_date():
    res = subprocess.run(['make', '-s', 'venv', f'VENV={sys.prefix}'], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f'venv ready: {sys.prefix}', res.stdout  # nothing was installed

def test_digits_written_once():
    path = digits()
    f = next(path.rglob('*.png'))
    before = f.stat().st_mtime_ns
    assert digits() == path
    assert f.stat().st_mtime_ns == before
    assert json.loads((path/'.nnrecipe.json').read_text()) == dict(dataset='digits', n=1797, size=32)

def test_sync_guard_catches_a_stale_export(tmp_path):
    for p in ('pyproject.toml', 'README.md', 'nbs', 'nnrecipe', 'recipe_nb', 'tools'):
        (shutil.copytree if (ROOT/p).is_dir() else shutil.copy)(ROOT/p, tmp_path/p)
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    ok = subprocess.run(['bash', 'tools/check_sync.sh'], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    core = tmp_path/'nnrecipe'/'core.py'
    core.write_text(core.read_text().replace('CUDA when present, else the CPU.', 'hand edit'))
    stale = subprocess.run(['bash', 'tools/check_sync.sh'], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert stale.returncode == 1 and 'Out of sync' in stale.stderr and 'hand edit' in stale.stderr
    assert 'hand edit' in core.read_text()  # the guard reports; it never rewrites the tree

def test_cli_errors_are_actionable(tmp_path):
    res = subprocess.run([str(BIN/'nnrecipe'), 'run', str(tmp_path/'nope'), '--out', str(tmp_path/'o')],
                         capture_output=True, text=True)
    assert res.returncode == 2 and 'does not exist: pass a folder of class folders or a CSV' in res.stderr
    assert not (tmp_path/'o').exists()

def test_cli_run_on_a_csv(tmp_path):
    "`nnrecipe run` on a user's CSV: executes the start-here step there and says where the results are."
    from nnrecipe.data import load_items
    items = load_items(digits()).groupby('label').head(12)
    items.to_csv(tmp_path/'mine.csv', index=False)
    res = subprocess.run([str(BIN/'nnrecipe'), 'run', str(tmp_path/'mine.csv'), '--out', str(tmp_path/'run'), '--size', '32',
                          '--quick', '--steps', '00'], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f"Executed notebooks and results: {tmp_path/'run'}" in res.stdout
    got = json.loads((tmp_path/'run'/'00_start_here.json').read_text())
    # 12 a class: one of each class's training images set aside as the test split (10%, at least one)
    assert (got['n_items'], got['n_test'], got['n_classes'], got['size']) == (110, 10, 10, 32)

def test_torch_jit_warning_silenced_and_only_it():
    "Importing nnrecipe (which imports fastai) hides torch's `torch.jit.script` FutureWarning, and no other warning."
    msg = '`torch.jit.script` is deprecated'
    run = lambda code: subprocess.run([sys.executable, '-W', 'default', '-c', code], capture_output=True, text=True,
                                      check=True).stderr
    assert msg in run('import fastai.vision.all')  # without nnrecipe first, fastai's import shows it
    err = run("import warnings, nnrecipe.data, fastai.vision.all\n"
              "warnings.warn('`torch.jit.script` is deprecated, said elsewhere', FutureWarning)\n"
              "warnings.warn('another warning', FutureWarning)")
    assert 'another warning' in err
    assert err.count(msg) == 1 and 'said elsewhere' in err  # only the one not issued by torch/jit/_script.py
