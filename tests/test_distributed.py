"""Two CPU processes (gloo) started by `torchrun` train the digits through nnrecipe's entry point, as on several GPUs."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd, pytest

pytestmark = pytest.mark.timeout(600)


def _small_digits(folder:Path)->Path:
    "200 digits at 16 px: 160 training images, 40 validation images (4 per class), as a CSV."
    from nnrecipe.data import digits, load_items, subset
    items = load_items(digits(folder/'digits16', size=16))
    small = pd.concat([subset(items, 160, seed=0), items[items.is_valid].groupby('label').head(4)])
    small.to_csv(folder/'small.csv', index=False)
    return folder/'small.csv'


@pytest.fixture(scope='module')
def two_procs(tmp_path_factory):
    "One `torchrun --nproc_per_node 2 -m nnrecipe.distributed` run: (output folder, results, the launcher's output)."
    tmp = tmp_path_factory.mktemp('dist')
    data, out = _small_digits(tmp), tmp/'out'
    torchrun = shutil.which('torchrun', path=str(Path(sys.executable).parent)) or 'torchrun'
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get('PYTHONPATH', '')])}
    env.pop('CUDA_VISIBLE_DEVICES', None)
    cmd = [torchrun, '--standalone', '--nproc_per_node', '2', '-m', 'nnrecipe.distributed', '--data', str(data),
           '--out-dir', str(out), '--epochs', '1', '--bs', '32', '--size', '16', '--threads', '1', '--quiet']
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=540)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-5000:]
    return out, json.loads((out/'train.json').read_text()), p.stdout


def test_two_processes_finish(two_procs):
    out,res,stdout = two_procs
    assert (res['n_processes'], res['backend'], res['bs_per_process'], res['n_train'], res['n_valid']) == (2, 'gloo', 16, 160, 40)
    assert stdout.count('2 process(es), gloo') == 1  # printed by rank 0 alone
    assert len(set(res['pids'])) == 2


def test_shards_disjoint(two_procs):
    "Each rank trained on its own half of every epoch; 160 items split evenly, so no index repeats."
    _,res,_ = two_procs
    assert len(res['shards']) == 1
    ep = res['shards'][0]
    a,b = map(set, ep['idxs'])
    assert (len(a), len(b), a & b, a | b) == (80, 80, set(), set(range(160)))
    assert ep['ok'] and ep['repeated'] == 0 and ep['per_rank'] == [80, 80]


def test_rank0_writes_one_history(two_procs):
    "One history, one TensorBoard file, one model, one results JSON: all from rank 0's process."
    out,res,_ = two_procs
    names = sorted(f.name for f in out.iterdir())
    events = [n for n in names if n.startswith('events.out.tfevents.')]
    assert len(events) == 1 and events[0].split('.')[-2] == str(res['pids'][0]), (events, res['pids'])
    assert [n for n in names if n not in events] == ['diverged.json', 'epochs.csv', 'fits.csv', 'models', 'steps.csv',
                                                    'train.json']
    assert sorted(f.name for f in (out/'models').iterdir()) == ['final.pkl', 'models.json']
    assert not list(out.rglob('*.tmp'))
    assert len(pd.read_csv(out/'fits.csv')) == 1


def test_history_is_mean_over_ranks(two_procs):
    "The raw loss of every step is the mean of the two ranks' own losses, which differ (they saw different images)."
    out,res,_ = two_procs
    steps = pd.read_csv(out/'steps.csv')
    r0,r1 = res['local_losses']
    assert len(steps) == len(r0) == len(r1) == 5  # 80 images per rank, 16 per step
    assert all(abs(x - y) > 1e-4 for x,y in zip(r0, r1))
    assert all(abs(l - (x + y)/2) < 1e-5 for l,x,y in zip(steps.loss, r0, r1))
    assert (steps.bs == 16).all()  # each rank's share of the global batch of 32


def test_saved_model_is_the_trained_one(two_procs):
    "The model rank 0 saved, measured by one process on the validation set, has the accuracy the two processes measured."
    import torch
    from nnrecipe.core import load_model
    from nnrecipe.data import load_items
    out,res,_ = two_procs
    learn = load_model(out, 'final')
    items = load_items(out.parent/'small.csv')
    valid = items[items.is_valid]
    p,y = learn.get_preds(dl=learn.dls.test_dl(valid, with_labels=True))
    acc = (p.argmax(1) == y).float().mean().item()
    assert abs(acc - res['metric']) < 1e-6, (acc, res['metric'])
    assert torch.isfinite(p).all()
