"Shared fixtures: one headless run of every recipe notebook (quick mode), reused by all tests that read its outputs."
import os
from pathlib import Path
import pytest

@pytest.fixture(scope='session')
def recipe_run(tmp_path_factory):
    "Run all recipe notebooks once, quick, on the embedded data; return the run folder (or the StepFailed error)."
    from nnrecipe.runner import run_recipe, StepFailed
    out = tmp_path_factory.mktemp('recipe_run')
    try: run_recipe(out, quick=True, progress=False)
    except StepFailed as e: pytest.fail(str(e))
    return out
