"""Portable export on a real folder: does the plain path (onnxruntime + PIL + numpy, `nnrecipe.export.onnx_predict`)
give the model's probabilities on real, large, mixed images, and what does the export cost?

Folder: bench/real_folder.py's 480 real images (icons with alpha, LA and palette transparency, RGB/CMYK JPEGs, grey
and 16-bit PNGs, EXIF-turned photos, one ~95-Mpixel PNG; the ~210-Mpixel file over PIL's limit left out, as the scan
reports it), at 128 px (224 is the recipe's size for your own images: --size 224): large photos take the reduced
decoding (JPEG draft, PIL reduce), which the digits never exercise. resnet18 from scratch (no weights here), one epoch.
DataLoaders as `dataloaders` builds them by default (`presize=None`: presized where the images' median side is at
least 2 x size and 64 px: on this folder, median side 256 px in the sample it reads, up to --size 128; --presize 0
forces the plain path): `presized_side` records it.
Measured:
  1. inputs: fastai's validation batch vs the plain path's array, on every image: bit-for-bit equal, or the count not;
  2. probabilities: largest |onnxruntime - learner| over every image, temperature 1 and 1.7 (goal: <= 1e-4);
  3. export: seconds (wall and CPU) with torch's dynamo exporter, graph optimisation on (nnrecipe's) and off, and the
     .onnx size against the fastai .pkl's;
  4. inference: onnxruntime images/s vs fastai get_preds images/s on the same files, decoding included (a ratio).
The last line is bench/run.py's JSON: the figure is a difference of probabilities (no time), its goal 1e-4.
Run once; the machine is shared: the load average is printed with the figures. Threads: OMP_NUM_THREADS (1 here).
Usage: python bench/bench_export.py [FOLDER] [--size 128] [--epochs 1] [--presize 0|2]
"""
import argparse, json, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import accuracy, set_seed
from nnrecipe.data import cache_dir, load_items, dataloaders, image_size
from nnrecipe.learner import recipe_learner
import nnrecipe.export as ex

ap = argparse.ArgumentParser(); ap.add_argument('folder', nargs='?', default=None)
ap.add_argument('--size', type=int, default=128); ap.add_argument('--epochs', type=int, default=1)
ap.add_argument('--presize', type=float, default=None, help="dataloaders' presize: None (auto), 0 (off), 2")
a = ap.parse_args()
root = Path(a.folder) if a.folder else cache_dir()/'real_folder'
if not root.exists(): subprocess.run([sys.executable, str(Path(__file__).parent/'real_folder.py'), str(root)], check=True)
warnings.simplefilter('ignore')

def readable(f):
    try: image_size(f); return True
    except Exception: return False
items = load_items(root, seed=0)
items = items[[readable(f) for f in items.fname]].reset_index(drop=True)
fnames = list(items.fname)
load0 = os.getloadavg()
set_seed(0, reproducible=True)
dls = dataloaders(items, size=a.size, bs=32, num_workers=0, presize=a.presize,
                  cache_dir=tempfile.mkdtemp(prefix='bench_export_presized_'))
learn = recipe_learner(dls, 'resnet18', pretrained=False, metrics=accuracy)
t = time.perf_counter()
with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 2e-3)
train_s = time.perf_counter() - t
out = Path(tempfile.mkdtemp(prefix='bench_export_'))

def timed(f):
    t, c = time.perf_counter(), time.process_time(); r = f()
    return r, round(time.perf_counter() - t, 1), round(time.process_time() - c, 1)

# 1. inputs, bit for bit
pre = None
(onnx_path, pre_path), wall, cpu = timed(lambda: ex.export_onnx(learn, out/'final.onnx'))
pre = json.loads(pre_path.read_text())
n_diff = 0
for i in range(0, len(fnames), 32):
    fs = fnames[i:i+32]
    xb = learn.dls.test_dl(pd.DataFrame(dict(fname=fs)), bs=32).one_batch()[0].cpu().numpy()
    x = np.stack([ex._input(f, pre) for f in fs])
    n_diff += int((x != xb).reshape(len(fs), -1).any(1).sum())
# 2. probabilities, T = 1 and 1.7
p1, ort_s, _ = timed(lambda: ex.onnx_parity(learn, onnx_path, fnames, 1.0))
o17, _ = ex.export_onnx(learn, out/'t17.onnx', temperature=1.7)
p17 = ex.onnx_parity(learn, o17, fnames, 1.7)
# 3. export without graph optimisation, for comparison
m = ex._Probs(learn.model.float().cpu(), 1.0).eval()
h, w = pre['input']['shape'][2:]
_, wall_noopt, cpu_noopt = timed(lambda: torch.onnx.export(m, (torch.zeros(2, 3, h, w),), out/'noopt.onnx',
    input_names=['image'], output_names=['probs'], dynamic_shapes=({0: torch.export.Dim('batch')},), dynamo=True,
    external_data=False, optimize=False, verbose=False))
learn.export(out/'final.pkl')
# 4. inference speed, decoding included
_, ort_wall, _ = timed(lambda: ex.onnx_predict(onnx_path, fnames))
with learn.no_bar(): _, fa_wall, _ = timed(lambda: learn.get_preds(dl=learn.dls.test_dl(pd.DataFrame(dict(fname=fnames)), bs=64)))
res = dict(folder=str(root), n_images=len(fnames), size=a.size, presized_side=dls.presized, arch='resnet18 (from scratch)', epochs=a.epochs,
           train_seconds=round(train_s, 1), valid_accuracy=round(float(learn.validate()[1]), 3),
           inputs_not_bit_equal=n_diff, max_abs_diff_T1=p1['max_abs_diff'], max_abs_diff_T1_7=p17['max_abs_diff'],
           export_seconds=dict(wall=wall, cpu=cpu), export_noopt_seconds=dict(wall=wall_noopt, cpu=cpu_noopt),
           onnx_bytes=onnx_path.stat().st_size, noopt_onnx_bytes=(out/'noopt.onnx').stat().st_size,
           pkl_bytes=(out/'final.pkl').stat().st_size,
           images_per_s=dict(onnxruntime=round(len(fnames)/ort_wall, 1), fastai=round(len(fnames)/fa_wall, 1)),
           ort_over_fastai=round(fa_wall/ort_wall, 2), load_before=load0, load_after=os.getloadavg())
print(json.dumps(res, indent=1))
worst = max(res['max_abs_diff_T1'], res['max_abs_diff_T1_7'])
print(json.dumps(dict(name='export_parity', metric='max |p onnxruntime - p fastai|, real folder', value=worst,
                      goal='<= 1e-4', passed=bool(worst <= 1e-4 and n_diff == 0), details=res)))
