"""Label issues beyond the digits: the out-of-fold model chosen from the data, ImageNet features and a linear head
(plumbing only: planted weights, since no real ImageNet weights are on this machine), and the weak-model warning.
The precision and recall goals are measured in bench/bench_label_issues.py, not here."""
from unittest import mock
import numpy as np, pandas as pd, pytest, torch, torchvision
from nnrecipe.data import digits, load_items
from nnrecipe.learner import weights_file
from nnrecipe.label_issues import oof_settings, out_of_fold, label_issues, flip_labels, _decode_all, _features

@pytest.fixture(scope='module')
def items():
    "40 digits, 4 of each class."
    return load_items(digits()).groupby('label').head(4).reset_index(drop=True)

def _plant(seed):
    "A resnet18 state_dict from `seed`, saved under torchvision's own file name in TORCH_HOME."
    torch.manual_seed(seed)
    sd = torchvision.models.resnet18().state_dict()
    f = weights_file('resnet18'); f.parent.mkdir(parents=True, exist_ok=True); torch.save(sd, f)
    return sd

@pytest.fixture
def planted(tmp_path, monkeypatch):
    "Planted resnet18 weights in a temporary TORCH_HOME; any download fails."
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))
    with mock.patch('torch.hub.urlopen', side_effect=AssertionError('a test must not download')): yield _plant(0)

def test_features_come_from_the_planted_body(items, planted):
    "The features are the planted body's own (recomputed by torchvision), and change with the planted weights."
    x = _decode_all(items.fname.tolist()[:8], 64)
    f0 = _features(x, 'resnet18')
    m = torchvision.models.resnet18(); m.load_state_dict(planted); m.fc = torch.nn.Identity(); m.eval()
    mean, std = (torch.tensor(s).view(1, 3, 1, 1) for s in ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    with torch.no_grad(): ref = m((torch.from_numpy(x).float()/255 - mean)/std).numpy()
    assert f0.shape == (8, 512) and np.allclose(f0, ref, atol=1e-4)
    _plant(1)
    assert not np.allclose(_features(x, 'resnet18'), f0, atol=1e-3)

def test_cached_weights_choose_features_and_a_linear_head(items, planted, tmp_path, monkeypatch):
    "With the weights cached: features + linear head, out-of-fold probabilities per item; an empty cache: a CNN."
    s = oof_settings(items)
    assert (s['method'], s['arch'], s['size']) == ('features', 'resnet18', 64) and 'found in the cache' in s['note']
    probs, classes = out_of_fold(items, folds=2, repeats=1, progress=False)
    assert probs.shape == (40, 10) and classes == [str(i) for i in range(10)]
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    li = label_issues(items, folds=2, repeats=1, progress=False, verbose=False)
    assert li.settings['method'] == 'features' and li.agreement is not None
    assert oof_settings(items, arch='small')['method'] == 'trained'                    # asked for: from scratch
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'empty'))
    assert oof_settings(items)['method'] == 'trained'

def test_size_follows_the_stored_images(tmp_path, items):
    "Half the stored side, clipped to [16, 48]: 32-px digits at 16 px, 48-px images at 24, 400-px ones at 48."
    from PIL import Image
    for side in (48, 400):
        for i in range(6):
            d = tmp_path/str(side)/'ab'[i % 2]; d.mkdir(parents=True, exist_ok=True)
            Image.new('RGB', (side + 50, side)).save(d/f'{i}.png')
    got = [oof_settings(it, pretrained=False) for it in (items, load_items(tmp_path/'48'), load_items(tmp_path/'400'))]
    assert [s['size'] for s in got] == [16, 24, 48]
    assert [s['repeats'] for s in got] == [2, 1, 1]   # above 16 px the wider CNN, once over the folds

def test_random_labels_are_not_shown_as_issues(capsys):
    "Shuffled labels: the model cannot learn them; the step says so with its numbers and lists nothing."
    it = load_items(digits()).groupby('label').head(20).reset_index(drop=True)
    it['label'] = np.random.default_rng(0).permutation(it.label.to_numpy())
    li = label_issues(it, folds=2, epochs=3, repeats=1, progress=False, pretrained=False)
    out = capsys.readouterr().out
    assert not li.reliable and len(li.issues) == 0 and len(li.flags) > 0
    assert 'Label issues not shown' in out and f'{li.oof_accuracy:.1%}' in out
