"""Pretrained backbones and the GPU path, tested on the CPU: every learner on its DataLoaders' device from the start,
fp16 chosen from that device, fastai's fine_tune practice with planted ImageNet weights (offline), a timm backbone."""
import json, os
from functools import partial
from types import SimpleNamespace
from unittest import mock
import numpy as np, pandas as pd, pytest, torch, torchvision
from torch import nn
from fastai.vision.all import Callback, CrossEntropyLossFlat, Learner, Normalize, imagenet_stats
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.learner import recipe_learner, weights_file, fit_recipe, to_dls_device

META = torch.device('meta')  # the one device besides the CPU a CPU-only machine has: shapes, no data

@pytest.fixture(scope='module')
def items():
    "96 training and 64 validation digits."
    it = load_items(digits(), seed=0)
    return pd.concat([subset(it, 96, seed=0), it[it.is_valid].iloc[:64]])

@pytest.fixture
def planted(tmp_path, monkeypatch):
    "A resnet18 state_dict saved under torchvision's own file name in a temporary TORCH_HOME; any download fails."
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))
    torch.manual_seed(0)
    sd = torchvision.models.resnet18().state_dict()
    f = weights_file('resnet18'); f.parent.mkdir(parents=True); torch.save(sd, f)
    with mock.patch('torch.hub.urlopen', side_effect=AssertionError('a test must not download')): yield sd

def _device(learn): return next(learn.model.parameters()).device

def test_every_learner_starts_on_the_dataloaders_device(items, tmp_path):
    "Every learner nnrecipe builds has its model on dls.device before any fit (here the meta device)."
    from nnrecipe.baseline import baseline_learner
    from nnrecipe.overfit import _learner as overfit_learner, overfit_data
    from nnrecipe.label_issues import _learner as oof_learner
    from nnrecipe import regularize
    meta_dls = partial(dataloaders, device=META)
    dls = meta_dls(items, size=16, bs=16)
    built = dict(name=recipe_learner(dls, 'resnet18', pretrained=False),
                 module=recipe_learner(dls, nn.Sequential(nn.Flatten(), nn.LazyLinear(10)),
                                       loss_func=CrossEntropyLossFlat()),
                 baseline=baseline_learner(dls, pretrained=False, init=False, log=False, run_dir=tmp_path/'b'),
                 overfit=overfit_learner(overfit_data(items, n=32, size=16), 32, 'resnet18', 16, False, META, tmp_path))
    x = np.zeros((8, 3, 16, 16), np.uint8); y = np.arange(8) % 2
    with mock.patch('nnrecipe.core.default_device', return_value=META):
        built['label_issues'] = oof_learner(x, y, x, y, 2, 'small', 4, 0)
    with mock.patch.object(regularize, 'dataloaders', meta_dls):
        built['regularized'] = regularize.regularized_learner(items, dict(size=16, bs=16, epochs=1))
    for k,learn in built.items():
        assert learn.dls.device == META, k
        assert _device(learn) == META, f"{k}: model on {_device(learn)}, DataLoaders on {learn.dls.device}"

def _cuda_dls(learn):
    "Patch the learner's DataLoaders to report CUDA, without a GPU."
    return mock.patch.object(type(learn.dls), 'device', new_callable=mock.PropertyMock,
                             return_value=torch.device('cuda'))

def test_half_precision_decides_from_the_dataloaders_device(items, tmp_path):
    "fp16 for a CUDA DataLoaders device even while the model sits on the CPU (old code: fp32); never on a CPU one."
    from nnrecipe.baseline import half_precision
    learn = recipe_learner(dataloaders(items, size=16, bs=16), 'resnet18', pretrained=False)
    calls = []
    with mock.patch.object(learn, 'to_fp16', side_effect=lambda *a, **k: calls.append(1)):
        cpu = half_precision(learn)
        with _cuda_dls(learn): cuda = half_precision(learn)
    assert cpu['mode'] != 'fp16' and 'fp16 is unavailable on the CPU' in cpu['note']
    assert cuda['mode'] == 'fp16' and 'CUDA' in cuda['note']
    assert calls == [1]  # to_fp16 once: for the CUDA device only
    assert _device(learn).type == 'cpu'

def test_sanity_checks_run_the_model_where_the_batches_are(items):
    "A plain fastai Learner's model is moved to dls.device before the checks run it (old code: never moved)."
    from nnrecipe.baseline import sanity_checks
    dls = dataloaders(items, size=16, bs=16)
    learn = Learner(dls, nn.Sequential(nn.Flatten(), nn.Linear(3*16*16, 10)), loss_func=CrossEntropyLossFlat())
    moved, to = [], learn.model.to
    learn.model.to = lambda *a, **k: (moved.append(a[0] if a else k.get('device')), to(*a, **k))[1]
    sanity_checks(learn, n_steps=1, n_batches=2)
    assert moved and torch.device(moved[0]) == dls.device

def test_local_rank_picks_the_process_gpu():
    "Under a launcher each process uses its own GPU: dls_device follows LOCAL_RANK for CUDA, not for the CPU."
    from nnrecipe.learner import dls_device
    with mock.patch.dict(os.environ, {'LOCAL_RANK': '1'}):
        assert dls_device(SimpleNamespace(device=torch.device('cuda'))) == torch.device('cuda', 1)
        assert dls_device(SimpleNamespace(device=torch.device('cpu'))) == torch.device('cpu')

class _Trains(Callback):
    "At each fit's start: does the body's first convolution train, does the head's last layer train."
    def __init__(self): self.seen = []
    def before_fit(self):
        self.seen.append((self.model[0][0].weight.requires_grad, self.model[1][-1].weight.requires_grad))

def test_planted_weights_fine_tune_practice(items, planted, tmp_path):
    "Planted resnet18 weights load offline, ImageNet Normalize is in the pipeline, the body trains after the head."
    from nnrecipe.baseline import baseline_learner
    dls = dataloaders(items, size=16, bs=32)
    learn = baseline_learner(dls, pretrained=True, log=False, run_dir=tmp_path/'b')
    body = learn.model[0]
    assert torch.equal(body[0].weight.detach(), planted['conv1.weight'])
    assert torch.equal(body[7][1].conv2.weight.detach(), planted['layer4.1.conv2.weight'])
    norms = [t for t in dls.after_batch.fs if isinstance(t, Normalize)]
    assert len(norms) == 1 and torch.allclose(norms[0].mean.flatten().cpu(), torch.tensor(imagenet_stats[0]))
    assert 'ImageNet Normalize' in learn.weights_note
    rec = _Trains()
    with learn.no_bar(), learn.no_logging(): plan = fit_recipe(learn, 1, 1e-3, cbs=rec)
    assert rec.seen == [(False, True), (True, True)]  # phase 1: body frozen, head trains; phase 2: all train
    assert [p['epochs'] for p in plan['phases']] == [1, 1] and 'fine_tune practice' in plan['note']
    assert not torch.equal(body[0].weight.detach(), planted['conv1.weight'])

def test_planted_weights_ladder_rungs(items, planted, tmp_path):
    "A regularization rung trains with the fine_tune practice; an overfit rung starts from the weights, all unfrozen."
    from nnrecipe.regularize import fit_config
    from nnrecipe.overfit import _learner as overfit_learner, overfit_data
    learn, m = fit_config(items, dict(arch='resnet18', pretrained=True, size=16, bs=32, epochs=1, lr=1e-3))
    assert 'fine_tune practice' in m['fit'] and len(learn.fit_plan['phases']) == 2
    assert all(p.requires_grad for p in learn.model.parameters())
    ol = overfit_learner(overfit_data(items, n=32, size=16), 32, 'resnet18', 16, True, torch.device('cpu'), tmp_path)
    assert torch.equal(ol.model[0][0].weight.detach(), planted['conv1.weight'])
    assert all(p.requires_grad for p in ol.model.parameters())  # the overfit test trains the whole network

def test_pretrained_none_means_cached(items, planted, tmp_path, monkeypatch, capsys):
    "pretrained=None: the cached weights when there, said in one line; from scratch in an empty cache."
    dls = dataloaders(items, size=16, bs=32)
    assert recipe_learner(dls, 'resnet18', pretrained=None).pretrained is True
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'empty'))
    assert recipe_learner(dls, 'resnet18', pretrained=None).pretrained is False
    out = capsys.readouterr().out.splitlines()
    assert out == ['resnet18: ImageNet weights, found in the cache.', out[1]] and 'from scratch' in out[1]

def test_timm_backbone_trains_one_batch(items):
    "A timm name builds through fastai's own timm support and trains one batch; without cached weights: scratch."
    pytest.importorskip('timm')
    dls = dataloaders(pd.concat([items[~items.is_valid].iloc[:16], items[items.is_valid].iloc[:16]]), size=32, bs=16)
    learn = recipe_learner(dls, 'convnext_atto', pretrained=False)
    assert type(learn.model[0]).__name__ == 'TimmBody' and _device(learn) == dls.device
    w0 = learn.model[0].model.stem[0].weight.detach().clone()
    with learn.no_bar(), learn.no_logging(): fit_recipe(learn, 1, 1e-3)
    assert len(dls.train) == 1 and not torch.equal(w0, learn.model[0].model.stem[0].weight)
    assert np.isfinite(learn.recorder.values[-1][0])

def test_cli_run_pretrained_offline(planted, tmp_path):
    "`nnrecipe run DATA --pretrained --quick --steps 02` with planted weights: offline, the fine_tune practice ran."
    from nnrecipe.runner import main
    out = tmp_path/'run'
    main(['run', str(digits()), '--out', str(out), '--pretrained', '--quick', '--steps', '02', '--size', '16'])
    res = json.loads((out/'02_baseline.json').read_text())
    assert res['pretrained'] is True and res['final']['valid_loss'] < 10
    text = (out/'02_baseline.ipynb').read_text()
    assert 'fine_tune practice' in text and 'ImageNet Normalize' in text
