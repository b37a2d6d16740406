"The regularization ladder: on digits cut to 10% rungs narrow the gap, each kept only above noise; a seed gives the same table; MixUp shows in the batch inspector; the recipe step's results; bad configurations."
import json, re
import numpy as np, pandas as pd, pytest, torch
from nnrecipe.data import digits, load_items, subset
from nnrecipe.ladder import regularize_ladder, RUNGS
from nnrecipe.regularize import regularized_learner, fit_config, default_config
from nnrecipe.batch import inspect_batch


def test_ladder_on_a_tenth_of_digits(tenth, one_thread):
    "The baseline overfits; regularizing rungs narrow the gap; each decision follows the keep rule and says why."
    # seed_noise=False: the seed pair would add a 10-epoch run (15 s); the tiny ladders below check it
    lad = regularize_ladder(tenth, dict(epochs=10), rungs=('augment', 'weight_decay', 'mixup'),
                            candidates=dict(augment=dict(aug=dict(do_flip=False))), progress=False, seed_noise=False)
    t = lad.table
    print(t[['rung', 'valid_loss', 'metric', 'gap', 'vs', 'gain', 'gain_lo', 'gain_hi', 'd_metric', 'kept']].round(3))
    assert t.rung.tolist() == ['baseline', 'augment', 'weight_decay', 'mixup']
    base = t.iloc[0]
    assert base.train_metric > 0.98 and base.gap > 0.15, base.to_dict()  # the baseline overfits: that is the setting
    tried = t.iloc[1:]
    narrower = tried[(tried.gap < base.gap - 0.05) & (tried.valid_loss < base.valid_loss)]
    assert len(narrower), t[['rung', 'train_loss', 'valid_loss', 'gap', 'metric']].to_string()
    # the rule: kept exactly when the paired loss gain's interval lies above 0 and the accuracy is not worse beyond noise
    assert tried.kept.tolist() == ((tried.gain_lo > 0) & (tried.d_metric_hi >= 0)).tolist()
    assert (tried.noise == 0).all() and (tried.metric_noise == 0).all()  # no seed pair: the interval alone decides
    assert all(w.startswith('kept: ' if k else 'not kept: ') for w,k in zip(tried.why, tried.kept))
    kept = tried[tried.kept == True]
    assert lad.narrowed.rung.tolist() == kept[kept.gap < base.gap].rung.tolist()  # the reading the recipe step prints
    if not len(kept): assert lad.gap_verdicts()[-1].startswith('no rung improved')
    # the recommendation is the last kept run (the baseline when none), a plain dict the builder accepts
    assert lad.final['kept'] == True and lad.final['rung'] == t[t.kept == True].rung.iloc[-1]
    json.dumps(lad.to_dict())
    assert regularized_learner(tenth, lad.config).config['epochs'] == 10
    # every column the ablation table promises, for every run
    assert t[['train_loss', 'valid_loss', 'metric', 'gap', 'seconds', 'balanced_accuracy']].notna().all().all()
    assert tried[['gain', 'gain_lo', 'gain_hi', 'd_metric']].notna().all().all()
    assert set(t.precision) == {'fp32'}

def test_same_seed_same_table(tenth, one_thread):
    "A short ladder, twice from the same seed: the same numbers and decisions (seconds excepted)."
    run = lambda: regularize_ladder(tenth, dict(epochs=3, frac=0.5), rungs=('data', 'label_smoothing'), fractions=(0.5,),
                                    progress=False, seed_noise=False).table  # the seed pair: see test_ladder_resume
    a,b = run(),run()
    cols = ['train_loss', 'valid_loss', 'metric', 'gap', 'train_metric', 'running_loss']
    assert a.rung.tolist() == b.rung.tolist() == ['baseline', 'data', 'label_smoothing']
    np.testing.assert_array_equal(a[cols].values, b[cols].values)
    assert a.kept.tolist() == b.kept.tolist() and a.settings.tolist() == b.settings.tolist()
    c = regularize_ladder(tenth, dict(epochs=3, frac=0.5, seed=1), rungs=(), progress=False).table
    assert c.valid_loss.iloc[0] != a.valid_loss.iloc[0]  # and a different seed does change them

def test_mixup_visible_in_batch_inspector(tenth):
    on = inspect_batch(regularized_learner(tenth, dict(mixup=0.4)), n=8)
    off = inspect_batch(regularized_learner(tenth), n=8)
    assert on.mix == 'MixUp' and off.mix is None
    assert all(' + ' in t and '%' in t for t in on.titles)
    assert not any('+' in t for t in off.titles)
    # the same seed draws the same batch: mixing is what changed the pixels
    assert on.x.shape == off.x.shape and not torch.equal(on.x, off.x)
    cut = inspect_batch(regularized_learner(tenth, dict(cutmix=1.0)), n=8)
    assert cut.mix == 'CutMix'

def test_random_crop_for_large_images(tenth):
    "Images larger than the model's input get a different random crop every epoch, and the centre at validation."
    learn = regularized_learner(tenth, dict(size=16, crop=0.35))
    tfm = [t for t in learn.dls.train.after_item.fs if type(t).__name__ == 'RandomResizedCrop']
    assert len(tfm) == 1
    train = learn.dls.train.new(shuffle=False)  # the same images in the same order, drawn twice
    a,b = train.one_batch()[0], train.one_batch()[0]
    assert a.shape[-2:] == (16, 16) and not torch.equal(a, b)  # a new crop every time an image is drawn
    assert torch.equal(learn.dls.valid.one_batch()[0], learn.dls.valid.one_batch()[0])  # validation: always the centre

def test_half_precision_says_what_ran(tenth):
    learn = regularized_learner(tenth, dict(half=True))
    mode = learn.precision['mode']
    if torch.cuda.is_available(): assert mode == 'fp16'
    else:
        assert mode in ('bf16', 'fp32') and 'fp16 is unavailable' in learn.precision['note']
        assert (mode == 'bf16') == any(type(c).__name__ == 'CPUBFloat16' for c in learn.cbs)
    # a rung trained with half precision reports the precision that ran, in the table's column
    _,m = fit_config(tenth, dict(half=True, epochs=1, frac=0.25, bs=16))
    assert m['precision'] == mode and np.isfinite(m['valid_loss'])

def test_bad_configurations(tenth):
    with pytest.raises(ValueError, match=r"Unknown configuration key\(s\) \['dropout'\].*'ps'"):
        regularized_learner(tenth, dict(dropout=0.5))
    with pytest.raises(ValueError, match='one at a time'):
        regularized_learner(tenth, dict(mixup=0.4, cutmix=1.0))
    with pytest.raises(ValueError, match=r"Unknown rung\(s\) \['dropout_more'\]"):
        regularize_ladder(tenth, rungs=('dropout_more',))
    with pytest.raises(ValueError, match=r'frac=1.5'):
        regularized_learner(tenth, dict(frac=1.5))
    with pytest.raises(ValueError, match=r"loss='dice': choose one of \['cross_entropy', 'focal', 'class_weights'\]"):
        regularized_learner(tenth, dict(loss='dice'))
    with pytest.raises(ValueError, match=r"metric='f1'"):
        regularize_ladder(tenth, metric='f1')

def test_imbalanced_digits_decide_on_balanced_accuracy(one_thread):
    "One class cut to 1:10 of the others in training (validation kept): balanced accuracy, focal loss, class weights."
    items = load_items(digits())
    tr = items[~items.is_valid]
    small = tr.label.value_counts().sort_index().index[3]
    n = round(tr.label.value_counts().drop(small).median()/10)
    cut = items.drop(tr[tr.label == small].index[n:])
    assert cut.is_valid.sum() == items.is_valid.sum()
    w = regularized_learner(cut, dict(loss='class_weights', size=16)).loss_func.func.weight
    assert w.argmax().item() == 3 and w.max() > 5*w.median()  # the cut class weighs about 10x the others
    lad = regularize_ladder(cut, dict(epochs=1, frac=0.25, size=16), rungs=('focal_loss', 'class_weights'),
                            progress=False)
    t = lad.table
    print(lad.show())
    assert lad.decided_on == 'balanced_accuracy'
    assert t.rung.tolist() == ['baseline', 'seed_noise', 'focal_loss', 'class_weights']
    assert t.settings.tolist()[1:] == ['seed=1042', 'loss=focal', 'loss=class_weights']
    base,nz = t.iloc[0],t.iloc[1]
    # the seed pair in the decision's units: its metric difference is the balanced accuracies'; its far end the floor
    assert np.isclose(nz.d_metric, nz.balanced_accuracy - base.balanced_accuracy) and nz.vs == 'baseline'
    tried = t.iloc[2:]
    assert np.allclose(tried.noise, max(abs(nz.gain_lo), abs(nz.gain_hi)))
    assert np.allclose(tried.metric_noise, max(abs(nz.d_metric_lo), abs(nz.d_metric_hi)))
    assert tried.kept.tolist() == ((tried.gain_lo > tried.noise) & (tried.d_metric_hi >= -tried.metric_noise)).tolist()
    assert any(v.startswith('seed noise: the baseline trained from seed 1042 instead of 42') for v in lad.verdicts)
    for r in tried.itertuples():  # both reported: the balanced-accuracy difference with its interval, and why
        assert np.isclose(r.d_metric, r.balanced_accuracy - base.balanced_accuracy)
        assert r.d_metric_lo <= r.d_metric <= r.d_metric_hi and r.gain_lo <= r.gain <= r.gain_hi
        assert r.why.startswith('kept: ' if r.kept else 'not kept: ') and 'balanced accuracy' in r.why
        assert any(v.startswith(f"{r.rung} ({r.settings}): balanced accuracy") for v in lad.verdicts)
    assert any('imbalanced, so the ladder decides on balanced accuracy and tries focal loss and class weights' in v
               for v in lad.verdicts)
    assert lad.final['balanced_accuracy'] >= base.balanced_accuracy or not t.kept.iloc[1:].any()

def test_recipe_step(recipe_run):
    r = json.loads((recipe_run/'04_reduce_overfitting.json').read_text())
    assert r['n_train'] == 126 and r['n_valid'] == 359 and r['train_frac'] == 0.1   # 10% of 1,259: the test split is out
    t = pd.DataFrame(r['table'])
    assert t.rung.tolist()[0] == 'baseline' and set(t.rung) <= {'baseline', 'seed_noise', *RUNGS}
    for col in ('rung', 'settings', 'train_loss', 'valid_loss', 'metric', 'gap', 'seconds', 'kept', 'precision'): assert col in t
    assert np.allclose(t.gap, t.valid_loss - t.train_loss)
    assert len(r['curve']) >= 2 and any('more data' in v for v in r['verdicts'])
    cfg = r['recommended']
    assert set(cfg) == set(default_config()) and cfg['epochs'] == r['epochs']
    assert r['start']['frac'] == 0.1 and cfg['frac'] == 1.0  # the ladder drew its share; the recommendation is for all
    # the seed pair covers the draw of the share: the noise run trained on as many images, another draw of them
    nz,base = t.set_index('rung').loc['seed_noise'],t.iloc[0]
    assert nz.n_train == base.n_train == r['n_train'] == 126 and nz.settings == f"seed={r['seed'] + 1000}"
    assert 'on another draw of 126 of the 1259 training images' in nz.why, nz.why  # 1,797 - 359 valid - 179 test
    assert r['sweep'] is None or len(r['sweep']['table']) >= 2
    for p in r['plots']: assert (recipe_run/p).stat().st_size > 10_000, p

def test_every_rung_in_recipe_order(tenth, one_thread):
    "All rungs, one cheap epoch each: the order, the crop rung for images larger than the input, the smaller model last, and a config that holds exactly what was kept."
    lad = regularize_ladder(tenth, dict(epochs=1, frac=0.25, bs=16, size=16), fractions=(0.5,), progress=False)
    t = lad.table
    # the seed-noise run comes once, before the first candidate: after the learning curve's diagnostic points
    order = [r for r in ['baseline', 'data', 'seed_noise', *RUNGS[1:]] if r in set(t.rung)]
    assert t.rung.drop_duplicates().tolist() == order
    nz = t.set_index('rung').loc['seed_noise']  # frac 0.25: the noise run's seed drew another 36 of the 144 images
    assert nz.n_train == t.n_train.iloc[0] == 36 and 'on another draw of 36 of the 144 training images' in nz.note
    assert {'baseline', 'seed_noise', 'data', 'augment', 'crop', 'weight_decay', 'dropout', 'label_smoothing', 'mixup',
            'cutmix', 'smaller'} <= set(t.rung)
    assert t.set_index('rung').loc['crop', 'settings'] == 'crop=0.35'  # 32-px digits are large for a 16-px model
    assert t.rung.iloc[-1] == 'smaller' and t.settings.iloc[-1] == 'arch=resnet10'
    assert t[t.rung == 'data'].kept.isna().all()  # learning-curve points are diagnostics, not candidates
    changed = {k for k,v in lad.config.items() if v != lad.start[k]}
    keys = dict(augment='aug', crop='crop', weight_decay='wd', dropout='ps', label_smoothing='label_smoothing', mixup='mixup',
                cutmix='cutmix', smaller='arch')
    assert changed <= set(keys.values())
    for rung,key in keys.items():
        if key in changed: assert (t[t.rung.isin([rung, 'combined'])].kept == True).any(), (rung, t.to_string())
    assert not (lad.config['mixup'] and lad.config['cutmix'])
    assert lad.final['kept'] == True and (t.why.notna() == t.vs.notna()).all()  # every candidate says why
    tried = t[t.why.notna() & (t.rung != 'seed_noise')]  # each decided above the one seed pair's noise, and says so
    assert tried.kept.tolist() == ((tried.gain_lo > tried.noise) & (tried.d_metric_hi >= -tried.metric_noise)).tolist()
    assert all(' > seed noise ' in w for w,k in zip(tried.why, tried.kept) if k), tried.why.tolist()
    assert all(w.startswith('not kept: ') for w,k in zip(tried.why, tried.kept) if not k)
    # a 32-px model on 32-px images: the crop rung is skipped, and says why
    t32 = regularize_ladder(tenth, dict(epochs=1, frac=0.25, bs=16), rungs=('crop',), progress=False).table
    assert t32.rung.tolist() == ['baseline', 'crop'] and t32.note.iloc[1].startswith('skipped: the images (32 px')
