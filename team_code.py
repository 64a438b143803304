#!/usr/bin/env python
"""The Challenge's team code: thin wrappers around the ``ecgdigitizer`` package (which holds the method).

Works with our copies and with the organisers' copies of train_model.py, run_model.py and helper_code.py.
"""

from ecgdigitizer.challenge import load_models as _load_models
from ecgdigitizer.challenge import run_models as _run_models
from ecgdigitizer.train import train_models as _train_models


def train_models(data_folder, model_folder, verbose):
    _train_models(data_folder, model_folder, verbose)


def load_models(model_folder, verbose):
    return _load_models(model_folder, verbose)


def run_models(record, digitization_model, classification_model, verbose):
    return _run_models(record, digitization_model, classification_model, verbose)
