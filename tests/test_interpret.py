"Grad-CAM: agreement with pytorch-grad-cam, localisation on the shapes (pointing game), no leaked hooks, the recipe step."
import gc, json
from pathlib import Path
from unittest import mock
import pandas as pd, pytest, torch
from torch import Tensor
from fastai.vision.all import accuracy, CrossEntropyLossFlat, set_seed
from nnrecipe.learner import recipe_learner
from nnrecipe.data import shapes, digits, load_items, dataloaders
from nnrecipe.gradcam import gradcam, pointing_game, small_cnn, _find_layer

def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
               for m in model.modules())

@pytest.fixture(scope='module')
def shapes64():
    "An untrained resnet18 learner on the shapes at 64 px, and one validation batch."
    torch.manual_seed(0)
    sp = shapes(n=80, size=64)
    dls = dataloaders(load_items(sp), size=64, bs=16)
    learn = recipe_learner(dls, 'resnet18', pretrained=False)
    return learn, dls.valid.one_batch()

@pytest.mark.parametrize('layer', [None, 'model[0][7]', 'model[0][6][1].conv2'])
def test_agrees_with_pytorch_grad_cam(shapes64, layer):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    learn,(xb,yb) = shapes64
    for targets in (None, (torch.arange(len(xb)) % 4)):  # the predicted class, and one given per image
        ours = gradcam(learn, (xb, yb), targets=targets, layer=layer)
        with GradCAM(learn.model, target_layers=[_find_layer(learn.model, ours.layer)]) as cam:
            ref = cam(xb.as_subclass(Tensor), targets=[ClassifierOutputTarget(int(t)) for t in ours.targets])
        assert ref.shape == tuple(ours.maps.shape)
        diff = (ours.maps - torch.from_numpy(ref)).abs().max().item()
        assert diff < 1e-4, (layer, targets, diff)
        assert (ours.maps.flatten(1).amax(1) > 0.99).float().mean() > 0.5  # real maps, not all flat
    assert _hooks(learn.model) == 0

def test_frozen_body_and_mode(shapes64):
    "A frozen body (as after fine_tune's first phase) gives the same maps; train mode is restored; no .grad is written."
    learn,(xb,_) = shapes64
    learn.model.zero_grad(set_to_none=True)  # pytorch-grad-cam's backward fills .grad; gradcam must not
    ref = gradcam(learn, xb).maps
    try:
        for p in learn.model.parameters(): p.requires_grad_(False)
        learn.model.train()
        torch.testing.assert_close(gradcam(learn, xb).maps, ref)
        assert all(m.training for m in learn.model.modules())
    finally:
        for p in learn.model.parameters(): p.requires_grad_(True)
        learn.model.eval()
    assert all(p.grad is None for p in learn.model.parameters())

def test_no_leaks_in_1000_calls():
    "1,000 calls on a tiny batch, a tenth of them failing inside: no hook left, no tensor piling up, modes restored."
    torch.manual_seed(0)
    dls = dataloaders(load_items(digits()), size=16, bs=2)
    learn = recipe_learner(dls, 'resnet18', pretrained=False)
    xb = dls.valid.one_batch()[0]
    learn.model.train()
    gradcam(learn, xb); gc.collect()
    n_tensors = sum(torch.is_tensor(o) for o in gc.get_objects())
    failed = 0
    for i in range(1000):
        if i % 10 == 0:
            with mock.patch('torch.autograd.grad', side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
                gradcam(learn, xb)
            failed += 1
        elif i % 10 == 5:
            with pytest.raises(RuntimeError, match='could not take this batch'): gradcam(learn, xb[:, :1])
            failed += 1
        else: gradcam(learn, xb)
    assert failed == 200
    assert _hooks(learn.model) == 0
    assert all(m.training for m in learn.model.modules())
    gc.collect()
    assert sum(torch.is_tensor(o) for o in gc.get_objects()) <= n_tensors + 10

# The pointing game (issue item 3b): after a short training from scratch, Grad-CAM's peak must fall strictly inside the
# shape's box for >= 80% of the validation images. The module notebook checks seed 0; this test checks seed 1, so CI
# sees two trainings. small_cnn, not resnet18: resnet18 from scratch stays near chance on the shapes within this budget.
# 1,500 images at 48 px (small_cnn's last block is 12x12, so gradcam keeps it), 8 epochs: ~30 s on 2 cores.
PG = dict(n=1500, size=48, epochs=8, lr=5e-3, bs=32, widths=(16, 32, 64, 128), seed=1)

def test_pointing_game_on_shapes():
    set_seed(PG['seed'], reproducible=True)  # python's random too: fastai's DataLoaders draw their shuffling seed from it
    sp = shapes(n=PG['n'], size=PG['size'])
    items = load_items(sp)
    dls = dataloaders(items, size=PG['size'], bs=PG['bs'])
    learn = recipe_learner(dls, small_cnn(dls.c, PG['widths']), loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(PG['epochs'], PG['lr'])
    hm = gradcam(learn, items[items.is_valid])
    pg = pointing_game(hm, sp)
    print(hm.note, {k: v for k,v in pg.items() if k != 'hits'})
    assert pg['n'] == int(items.is_valid.sum())
    assert hm.layer == 'model[0][3]'  # at 48 px the last block is 12x12: the rule keeps it
    assert pg['score'] >= 0.8, pg  # strictly inside the box
    assert pg['score'] > 3 * pg['random'], pg
    # the boxes are honoured: the same peaks scored against the boxes mirrored through the centre mostly miss
    bx = pd.read_csv(sp/'boxes.csv')
    s = PG['size']
    mirrored = bx.assign(fname=[str(sp/f) for f in bx.fname], x0=s-bx.x1, x1=s-bx.x0, y0=s-bx.y1, y1=s-bx.y0)
    assert pointing_game(hm, mirrored)['score'] < 0.5 * pg['score']

def test_recipe_step(recipe_run):
    res = json.loads((recipe_run/'05_interpret.json').read_text())
    sh = res['shapes']
    assert 0 <= sh['pointing_game'] <= sh['pointing_game_tolerant'] <= 1 and 0 < sh['random'] < sh['random_tolerant'] < 0.5
    assert sh['n'] > 0 and sh['tolerance_px'] > 0
    assert sh['layer'].startswith('model[') and sh['layer_note']
    d = res['data']
    assert d['layer'] == 'model[0][4]'  # digits at 32 px: resnet18's layer1 (8x8) is the deepest map of at least 7x7
    assert len(d['top_losses']) > 0 and all(Path(t['fname']).is_file() for t in d['top_losses'])
    losses = [t['loss'] for t in d['top_losses']]
    assert losses == sorted(losses, reverse=True)
    assert sum(map(sum, d['confusion'])) == d['n_valid'] == 359
    for p in d['most_confused']: assert p['actual'] != p['predicted'] and p['count'] >= 1
    for f in ('05_shapes_gradcam.png', '05_top_losses.png', '05_confusion_matrix.png'):
        assert (recipe_run/f).stat().st_size > 5_000, f
