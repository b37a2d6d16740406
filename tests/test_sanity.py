"Sanity checks on any fastai Learner (issue 19): healthy models built three ways pass every check, over several seeds; neural_net_checklist's failure cases fail the check that names them, on a small CNN and on resnet18; calibration against an imbalanced prior. (The cheap cases run in nbs/11_baseline.)"
import math
import pandas as pd, pytest, torch
from torch import nn
from fastai.vision.all import Learner, set_seed
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.learner import recipe_learner
from nnrecipe.baseline import sanity_checks, baseline_learner

CHECKS = ['loss at init', 'calibration at init', 'gradients reach every parameter group', 'batch independence',
          'input-independent baseline', 'one batch: loss falls']

@pytest.fixture(scope='module')
def items(): return load_items(digits())

@pytest.fixture(scope='module')
def dls16(items): return dataloaders(pd.concat([subset(items, 320), items[items.is_valid].iloc[::4]]), size=16, bs=32)

@pytest.fixture(scope='module')
def dls32(items): return dataloaders(pd.concat([subset(items, 320), items[items.is_valid].iloc[::4]]), size=32, bs=32)

def small_cnn(c=10):
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, c))

def two_groups(m): return [list(m[:4].parameters()), list(m[4:].parameters())]

def failed(sc): return [r['check'] for r in sc.to_dict() if not r['passed']]

@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('how', ['recipe_learner init', 'plain Learner', 'own splitter'])
def test_small_cnn_passes_every_check(dls16, how, seed):
    set_seed(seed)
    learn = (Learner(dls16, small_cnn()) if how=='plain Learner' else   # fastai's default splitter, no init_head
             recipe_learner(dls16, small_cnn(), init=True, **(dict(splitter=two_groups) if how=='own splitter' else {})))
    sc = sanity_checks(learn)
    assert list(sc.df.check) == CHECKS
    assert sc.passed, sc.show()
    n_groups = sc['gradients reach every parameter group']['measured'].count('group ')
    assert n_groups == (2 if how=='own splitter' else 1)
    assert all(p.grad is None for p in learn.model.parameters()) and learn.model.training

def test_resnet18_passes_every_check(dls32):
    set_seed(0)
    learn = recipe_learner(dls32, 'resnet18', pretrained=False, init=True)
    before = {k: v.clone() for k,v in learn.model.state_dict().items()}
    sc = sanity_checks(learn)
    assert sc.passed, sc.show()
    assert sc['one batch: loss falls']['measured'].endswith('at lr 1e-03')  # halves at the usual rate: no second try
    assert all(torch.equal(v, before[k]) for k,v in learn.model.state_dict().items())

class BatchSum(nn.Module):
    def __init__(self, m): super().__init__(); self.m = m
    def forward(self, x): f = self.m[:-1](x); return self.m[-1](f + f.sum(0, keepdim=True))

class Ignores(nn.Module):
    def __init__(self): super().__init__(); self.head = nn.Linear(32, 10)
    def forward(self, x): return self.head(torch.ones(len(x), 32, device=x.device))

def biased(m, b):
    with torch.no_grad(): m[-1].bias[0] = b
    return m

def dropout_before_head(m): m.insert(len(m)-1, nn.Dropout(1.0)); return m

BROKEN = {'loss at init': lambda: biased(small_cnn(), 1000.), 'calibration at init': lambda: biased(small_cnn(), 1.),
          'gradients reach every parameter group': lambda: dropout_before_head(small_cnn()),
          'input-independent baseline': Ignores, 'batch independence': lambda: BatchSum(small_cnn())}

@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('check', list(BROKEN))
def test_checklist_failures_on_a_small_cnn(dls16, check, seed):
    set_seed(seed)
    sc = sanity_checks(recipe_learner(dls16, BROKEN[check]()))
    assert check in failed(sc), sc.show()
    assert sc[check]['fix']

def test_checklist_failures_on_resnet18(dls32):
    "The same failures on vision_learner's resnet18: bias 1000 and Dropout(1.0) in its head, a batch sum before it."
    def built(edit):
        set_seed(0); learn = recipe_learner(dls32, 'resnet18', pretrained=False, init=True); edit(learn.model); return learn
    def bias_1000(head):  # fastai's head ends in a Linear without bias (after BatchNorm): give it one
        head[-1].bias = nn.Parameter(torch.zeros(head[-1].out_features, device=head[-1].weight.device))
        biased(head, 1000.)
    lb = built(lambda m: bias_1000(m[1]))
    assert {'loss at init', 'calibration at init'} <= set(failed(sanity_checks(lb, n_steps=1)))
    ld = built(lambda m: m[1].insert(len(m[1])-1, nn.Dropout(1.0)))
    assert 'gradients reach every parameter group' in failed(sanity_checks(ld, n_steps=1))
    lm = built(lambda m: m[0].register_forward_hook(lambda mod,i,o: o + o.sum(0, keepdim=True)))
    sc = sanity_checks(lm, n_steps=1)
    assert 'batch independence' in failed(sc)
    assert float(sc['batch independence']['measured'].split('by ')[1].split(' ')[0]) > 0

def test_calibration_against_an_imbalanced_prior(items):
    "init_head's log-prior bias makes the first predictions the prior; a zero bias on 4:1 classes is off by more than 2x."
    tr = items[~items.is_valid & items.label.isin(['0', '1'])]
    tr = pd.concat([tr[tr.label=='0'].iloc[:160], tr[tr.label=='1'].iloc[:40]])
    va = items[items.is_valid & items.label.isin(['0', '1'])]
    dls = dataloaders(pd.concat([tr, va]), size=16, bs=50)
    set_seed(0)
    good = sanity_checks(recipe_learner(dls, small_cnn(2), init=True), n_steps=2)
    assert good['calibration at init']['passed'], good.show()
    set_seed(0)
    flat = recipe_learner(dls, small_cnn(2), init=True)
    with torch.no_grad(): flat.model[-1].bias.zero_()
    bad = sanity_checks(flat, n_steps=2)
    assert not bad['calibration at init']['passed'] and "furthest: class '1'" in bad['calibration at init']['measured']
