"""nnrecipe's GPU path, checked on a real GPU in at most five minutes; figures into bench/results.json ('gpu_check').

Checks, in order (a failed check is recorded and the next one runs):
- fp16: `half_precision` on a CUDA learner turns fastai's `to_fp16` on: the dtype seen inside the model's forward is
  float16 and a gradient scaler is active;
- throughput: resnet18 and resnet34 training images/s at 224 px, fp16 (autocast + GradScaler, what fastai's
  MixedPrecision does) vs fp32, on batches already on the GPU. Goal: resnet34 fp16 >= 1.5 x fp32;
- gradcam: `nnrecipe.gradcam.gradcam` maps/s against pytorch-grad-cam's GradCAM on the same GPU, same model and
  batch (resnet18, 64 images at 224 px, layer4). Goal: >= 2 x;
- oom_hint: an image side no GPU holds (6144 px, batch 64: the first convolution's output alone is ~150 GB) raises
  CUDA's out-of-memory error, and the runner's hint for that error names the batch size to try;
- quick_recipe: `nnrecipe demo --quick` on CUDA, end to end (every step, papermill), its minutes.

On a machine without CUDA it says what it skipped and exits 0 (figures: none).

A lent GPU machine (see the device tool) has its own Python with torch, torchvision and timm, and no network: what
the checks need beyond that travels as wheels. Here, once: `python bench/gpu_check.py --wheels` writes them into .whl/
(ignored by git; `--wheels --dry` only lists them; at most 64 MiB travel). There, with `.whl` in the device call's
carry: `python3 bench/gpu_check.py` installs .whl/*.whl into /tmp/site and runs the checks (timeout_s 420 leaves a
margin; `python3 bench/gpu_check.py fp16 gradcam` runs only those).
"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHL, SITE = ROOT/'.whl', Path('/tmp/site')
# the GPU image's own packages (device KINDS.md, 2026-11-17): never carried
ON_GPU_IMAGE = set('''torch torchvision torchaudio triton timm numpy pandas pillow matplotlib scipy scikit-learn pyyaml
requests tqdm huggingface-hub safetensors packaging psutil filelock fsspec jinja2 markupsafe networkx sympy mpmath
typing-extensions six python-dateutil pytz tzdata kiwisolver cycler fonttools contourpy pyparsing certifi idna urllib3
charset-normalizer click rich pygments markdown-it-py mdurl attrs tensorboard tensorboard-data-server protobuf grpcio
absl-py werkzeug markdown joblib threadpoolctl statsmodels patsy opencv-python-headless scikit-image imageio tifffile
lazy-loader accelerate hf-xet setuptools pip wheel anyio httpx httpcore h11 sniffio tabulate regex'''.split())
SKIP = {'nvidia', 'cuda-'}  # CUDA runtime wheels: the image has its own


def _norm(name): return name.lower().replace('_', '-').replace('.', '-')


# what the checks import (the package's runtime needs, and the Grad-CAM peer); not what they never load
ROOTS = ['fastai', 'papermill', 'ipykernel', 'cleanlab', 'imagehash', 'ipywidgets', 'grad-cam']
DROP = {'spacy', 'jupyterlab', 'nbconvert', 'jupyter-server', 'notebook-shim'}  # text models, a web UI: never loaded


def _closure(roots=ROOTS, drop=DROP)->dict:
    "Every distribution `roots` need (extras left out, `drop` and what it alone needs left out): {name: version}."
    import importlib.metadata as md, re
    seen, todo = {}, list(roots)
    while todo:
        n = todo.pop()
        if _norm(n) in drop: continue
        try: d = md.distribution(n)
        except md.PackageNotFoundError: continue
        key = _norm(d.metadata['Name'])
        if key in seen: continue
        seen[key] = d.version
        for r in d.requires or []:
            if 'extra ==' not in r: todo.append(re.split(r'[ ;<>=!~\[(]', r, maxsplit=1)[0])
    return seen


def wheels(dry:bool=False)->int:
    "Download, for Python 3.12 on x86-64 Linux, the wheels of what the checks need that the GPU image lacks."
    image = {_norm(o) for o in ON_GPU_IMAGE}
    need = {k: v for k, v in _closure().items() if k not in image and not any(k.startswith(s) for s in SKIP)}
    if dry: print(f"{len(need)} packages to carry: {', '.join(f'{k}=={v}' for k, v in sorted(need.items()))}"); return 0
    WHL.mkdir(exist_ok=True)
    plat = [a for n in (28, 27, 17) for a in ('--platform', f'manylinux_2_{n}_x86_64')]
    plat += ['--platform', 'manylinux2014_x86_64', '--platform', 'manylinux1_x86_64', '--platform', 'any']
    failed = []
    for name, ver in sorted(need.items()):
        cmd = [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '--python-version',
               '3.12', '--implementation', 'cp', *plat, '-d', str(WHL), f'{name}=={ver}']
        if subprocess.run(cmd).returncode: failed.append(f'{name}=={ver}')
    mib = sum(f.stat().st_size for f in WHL.glob('*.whl')) / 2**20
    print(f"{len(need)} packages, {len(list(WHL.glob('*.whl')))} wheels, {mib:.1f} MiB in {WHL}"
          + (f"; no wheel for: {', '.join(failed)}" if failed else ''))
    return 1 if failed or mib > 64 else 0


def _setup():
    "Install carried wheels into /tmp/site when nnrecipe's dependencies are missing; the children see them too."
    try:
        import fastai, papermill, pytorch_grad_cam  # noqa: F401
        return
    except ImportError:
        if not list(WHL.glob('*.whl')): return
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile',
                    '--no-cache-dir', '--upgrade', '--target', str(SITE), *map(str, WHL.glob('*.whl'))], check=True)
    paths = [str(SITE), str(ROOT)]
    old = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    os.environ['PYTHONPATH'] = os.pathsep.join(paths + old)
    sys.path[:0] = paths


def _sync():
    import torch
    torch.cuda.synchronize()


def check_fp16()->dict:
    "half_precision on a CUDA learner: float16 inside the forward, a gradient scaler enabled at every step."
    import pandas as pd, torch
    from fastai.vision.all import Callback
    from nnrecipe.data import digits, load_items, dataloaders, subset
    from nnrecipe.baseline import baseline_learner, half_precision
    items = load_items(digits(), seed=0)
    dls = dataloaders(pd.concat([subset(items, 256), items[items.is_valid]]), size=32, bs=64)
    learn = baseline_learner(dls, pretrained=False, log=False, run_dir=tempfile.mkdtemp())
    hp = half_precision(learn)
    on_dls = str(next(learn.model.parameters()).device)

    class Seen(Callback):
        def after_batch(self): scaler.append(self.learn.scaler.is_enabled())
    dtypes, scaler = [], []
    h = learn.model[0][0].register_forward_hook(lambda m, i, o: dtypes.append(str(o.dtype)))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=Seen())
    h.remove()
    ok = hp['mode'] == 'fp16' and 'torch.float16' in dtypes and bool(scaler) and all(scaler)
    return dict(passed=ok, mode=hp['mode'], note=hp['note'], model_device_before_fit=on_dls,
                forward_dtypes=sorted(set(dtypes)), scaler_enabled_steps=f"{sum(scaler)}/{len(scaler)}")


def _images_per_s(arch:str, fp16:bool, bs:int=128, steps:int=20)->float:
    "Training images/s of `arch` at 224 px on batches already on the GPU: fp16 autocast + GradScaler, or fp32."
    import torch, torchvision
    m = getattr(torchvision.models, arch)(num_classes=10).cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    scaler = torch.amp.GradScaler('cuda', enabled=fp16)
    x = torch.randn(bs, 3, 224, 224, device='cuda').to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (bs,), device='cuda')
    def step():
        with torch.autocast('cuda', dtype=torch.float16, enabled=fp16):
            loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad(set_to_none=True); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    for _ in range(5): step()
    _sync(); t = time.perf_counter()
    for _ in range(steps): step()
    _sync()
    return bs * steps / (time.perf_counter() - t)


def check_throughput()->dict:
    "resnet18 and resnet34: fp16 vs fp32 training images/s at 224 px. Goal: resnet34 >= 1.5 x."
    res = {}
    for arch in ('resnet18', 'resnet34'):
        f32, f16 = _images_per_s(arch, False), _images_per_s(arch, True)
        res[arch] = dict(fp32=round(f32, 1), fp16=round(f16, 1), ratio=round(f16 / f32, 2))
    return dict(passed=res['resnet34']['ratio'] >= 1.5, goal='resnet34 fp16 >= 1.5 x fp32 images/s', **res)


def check_gradcam(n:int=64, size:int=224, reps:int=5)->dict:
    "nnrecipe's Grad-CAM vs pytorch-grad-cam on the same GPU, model and batch: maps/s. Goal: >= 2 x."
    import statistics, torch
    from torch import Tensor
    from pytorch_grad_cam import GradCAM
    from nnrecipe.data import shapes, load_items, dataloaders
    from nnrecipe.learner import recipe_learner
    from nnrecipe.gradcam import gradcam
    torch.manual_seed(0)
    dls = dataloaders(load_items(shapes(n=2*n, size=size)), size=size, bs=n)
    learn = recipe_learner(dls, 'resnet18', pretrained=False)
    model, xb = learn.model.eval(), dls.train.one_batch()[0]
    peer_cam = GradCAM(model, target_layers=[model[0][7]])
    ours = lambda: gradcam(learn, xb, layer='model[0][7]').maps
    peer = lambda: torch.from_numpy(peer_cam(xb.as_subclass(Tensor), targets=None))
    def timed(f):
        _sync(); t = time.perf_counter(); f(); _sync(); return time.perf_counter() - t
    for f in (ours, peer): f()
    diff = (ours() - peer()).abs().max().item()
    t = {k: statistics.median(timed(f) for _ in range(reps)) for k, f in (('ours', ours), ('peer', peer))}
    peer_cam.activations_and_grads.release()
    ratio = t['peer'] / t['ours']
    return dict(passed=ratio >= 2, goal='>= 2 x pytorch-grad-cam maps/s', ratio=round(ratio, 2),
                maps_per_s={k: round(n / v, 1) for k, v in t.items()}, max_abs_diff=round(diff, 5),
                device=str(next(model.parameters()).device))


def check_oom_hint(size:int=6144, bs:int=64)->dict:
    "A batch no GPU holds raises CUDA's out-of-memory error; the runner's hint for it names the batch size to try."
    import torch, torchvision
    from nnrecipe.runner import _oom_hint
    m = torchvision.models.resnet18(num_classes=10).cuda()
    err = None
    try: m(torch.zeros(bs, 3, size, size, device='cuda'))
    except torch.OutOfMemoryError as e: err = e
    finally: del m; torch.cuda.empty_cache()
    if err is None: return dict(passed=False, note=f"{bs} images of {size} px fitted: no out-of-memory error")
    hint = _oom_hint(type(err).__name__, str(err), bs)
    return dict(passed=f'--bs {bs // 2}' in hint, error=type(err).__name__, hint=hint.strip())


def check_quick_recipe(timeout:int=150)->dict:
    "`nnrecipe demo --quick` on CUDA, every step end to end, in a fresh folder: its minutes."
    out = Path(tempfile.mkdtemp())/'demo'
    t = time.time()
    p = subprocess.run([sys.executable, '-c', 'from nnrecipe.runner import main; main()', 'demo', '--quick',
                        '--out', str(out), '--fresh'], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    run = json.loads((out/'run.json').read_text()) if (out/'run.json').exists() else {}
    steps = {s['notebook']: [s['status'], s.get('seconds')] for s in run.get('steps', [])}
    return dict(passed=p.returncode == 0, minutes=round((time.time() - t) / 60, 2), steps=steps,
                tail=(p.stdout + p.stderr)[-600:] if p.returncode else '')


CHECKS = dict(fp16=check_fp16, throughput=check_throughput, gradcam=check_gradcam, oom_hint=check_oom_hint,
              quick_recipe=check_quick_recipe)


def _save(res:dict):
    "Merge the figures into bench/results.json under 'gpu_check', next to bench/run.py's results."
    f = ROOT/'bench'/'results.json'
    try: allres = json.loads(f.read_text())
    except (OSError, ValueError): allres = {}
    allres['gpu_check'] = res
    f.write_text(json.dumps(allres, indent=1, default=str))


def main(argv):
    if '--wheels' in argv: return wheels(dry='--dry' in argv)
    _setup()
    try: import torch
    except ImportError: print('gpu_check: skipped everything: torch is not installed'); return 0
    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device here (torch {torch.__version__}): skipped {', '.join(CHECKS)}. "
              f"Run it on a GPU machine (see this file's docstring); nothing written.")
        return 0
    res = dict(when=time.strftime('%Y-%m-%d %H:%M:%S'), gpu=torch.cuda.get_device_name(), torch=torch.__version__)
    t0 = time.time()
    for name, fn in CHECKS.items():
        if name in argv[1:] or not [a for a in argv[1:] if a in CHECKS]:
            t = time.time()
            try: r = fn()
            except Exception as e: r = dict(passed=False, error=f'{type(e).__name__}: {e}'[:1000])
            r['seconds'] = round(time.time() - t, 1)
            res[name] = r
            print(f"{name:<13} {'PASS' if r['passed'] else 'FAIL'}  {json.dumps(r, default=str)[:400]}", flush=True)
    res['seconds'] = round(time.time() - t0, 1)
    _save(res)
    print(f"gpu_check: {sum(r['passed'] for r in res.values() if isinstance(r, dict))}/{len(CHECKS)} passed in "
          f"{res['seconds']} s; figures in {ROOT/'bench'/'results.json'}")
    return 0


if __name__ == '__main__': sys.exit(main(sys.argv))
