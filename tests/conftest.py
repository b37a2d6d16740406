"Shared fixtures: one headless run of every recipe notebook (quick mode), reused by all tests that read its outputs."
import os, shutil
from pathlib import Path
import pytest

BOMB = 'zz_huge.png'  # in class 4, after its images: the split keeps 359 validation images (`_stratified_valid`, seed 42)

@pytest.fixture(scope='session')
def recipe_data(tmp_path_factory)->Path:
    "A copy of the digits' class folders with one file that cannot be decoded (a PNG over PIL's pixel limit) in class 4."
    from nnrecipe.data import digits
    from nnrecipe.run import _undecodable_png
    d = tmp_path_factory.mktemp('recipe_data')/'digits'
    shutil.copytree(digits(), d, ignore=shutil.ignore_patterns('.*'))
    _undecodable_png(d/'4'/BOMB)
    return d

@pytest.fixture(scope='session')
def recipe_run(tmp_path_factory, recipe_data):
    "Run all recipe notebooks once, quick, on the digits plus one undecodable file; return the run folder (or fail)."
    from nnrecipe.runner import run_recipe, StepFailed
    out = tmp_path_factory.mktemp('recipe_run')
    # the digits' defaults, given explicitly since `data` is a folder: 32 px, a tenth of the training split, no flips
    try: run_recipe(out, data=recipe_data, quick=True, progress=False, size=32, train_frac=0.1, aug=dict(do_flip=False),
                    pretrained=False)  # not whatever this machine has cached
    except StepFailed as e: pytest.fail(str(e))
    return out

def digits_tenth():
    "Digits with the training split cut to 10% (144 images) and the whole validation split (359)."
    import pandas as pd
    from nnrecipe.data import digits, load_items, subset
    items = load_items(digits())
    return pd.concat([subset(items, round(0.1*(~items.is_valid).sum())), items[items.is_valid]])

@pytest.fixture(scope='module')
def tenth(): return digits_tenth()

@pytest.fixture(scope='module')
def one_thread():
    "One torch thread for the test's module: the trainings of a ladder are compared bit for bit."
    import torch
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
