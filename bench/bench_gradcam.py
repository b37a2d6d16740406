"""nnrecipe.gradcam.gradcam vs pytorch-grad-cam's GradCAM, and vs the floor of the work: heatmaps per second.

resnet18 (fastai vision_learner, pretrained=False), one batch of 32 shapes images at 128 px, the maps of the
predicted classes at layer4 (`model[0][7]`) for all three:
- ours:  `gradcam(learn, xb, layer='model[0][7]')`: maps upsampled to 128 px and scaled, images decoded for display;
- peer:  pytorch-grad-cam `GradCAM(model, [layer4])(xb, targets=None)` (hooks registered once, outside the timing);
- floor: one forward with a hook keeping layer4's output, then `torch.autograd.grad` of the class scores to it: the
  least work any Grad-CAM needs (no map computed).
Alternating runs, median of 5 each after a warm-up. Goals: ours >= 2x the peer's maps/s, and ours within 10% of the floor
(time(ours) <= 1.1 x time(floor)). Reference on 2 cores (FACTS.md): peer 16.5 maps/s, floor 29 maps/s.
"""
import json, statistics, time
import torch
from torch import Tensor
from pytorch_grad_cam import GradCAM
from nnrecipe.learner import recipe_learner
from nnrecipe.data import shapes, load_items, dataloaders
from nnrecipe.gradcam import gradcam

torch.manual_seed(0)
dls = dataloaders(load_items(shapes(n=200, size=128)), size=128, bs=32)
learn = recipe_learner(dls, 'resnet18', pretrained=False)
model = learn.model.eval()
layer = model[0][7]
xb = dls.train.one_batch()[0]
assert xb.shape == (32, 3, 128, 128), xb.shape
x = xb.as_subclass(Tensor)

def ours(): return gradcam(learn, xb, layer='model[0][7]').maps

peer_cam = GradCAM(model, target_layers=[layer])
def peer(): return torch.from_numpy(peer_cam(x, targets=None))

def floor():
    acts = []
    h = layer.register_forward_hook(lambda m, i, o: acts.append(o))
    try: out = model(x)
    finally: h.remove()
    g, = torch.autograd.grad(out.gather(1, out.argmax(1)[:, None]).sum(), acts[0])
    return g

def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

for f in (ours, peer, floor): f()  # warm-up
diff = (ours() - peer()).abs().max().item()
times = dict(ours=[], peer=[], floor=[])
for _ in range(5):
    for name,f in (('ours', ours), ('peer', peer), ('floor', floor)): times[name].append(timed(f))
med = {k: statistics.median(v) for k,v in times.items()}
rate = {k: round(len(x)/v, 2) for k,v in med.items()}
vs_peer, vs_floor = med['peer']/med['ours'], med['ours']/med['floor']
peer_cam.activations_and_grads.release()
print(json.dumps(dict(name='gradcam_vs_pytorch_grad_cam', metric='maps/s ratio (ours / pytorch-grad-cam)',
                      value=round(vs_peer, 2), goal='>= 2', passed=vs_peer >= 2 and vs_floor <= 1.1,
                      details=dict(maps_per_s=rate, time_vs_floor=round(vs_floor, 3), floor_goal='<= 1.1',
                                   max_abs_diff=diff, threads=torch.get_num_threads(),
                                   seconds={k: [round(t, 3) for t in v] for k,v in times.items()}))))
