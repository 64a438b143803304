#!/usr/bin/env python
"""Helper functions with the names and meanings of the PhysioNet Challenge 2024 template.

Our own implementation (on top of the ``ecgdigitizer`` package). The organisers replace this file with
theirs; ``team_code.py`` never depends on it.
"""

from __future__ import annotations

import os

import numpy as np

from ecgdigitizer import metrics, records

substring_labels = "# Labels:"
substring_images = "# Image:"


# --- Challenge data I/O ---------------------------------------------------------------------------------------

def find_records(folder):
    return records.find_records(folder)


def load_header(record):
    return load_text(get_header_file(record))


def load_signals(record):
    return records.load_signal(record)


def load_images(record):
    from PIL import Image

    return [Image.open(p) for p in records.image_paths(record) if p.is_file()]


def load_labels(record):
    return get_labels_from_header(load_header(record))


def save_header(record, header):
    save_text(get_header_file(record), header)


def save_signals(record, signal, comments=()):
    records.save_signal(record, signal, list(comments))


def save_labels(record, labels):
    header = load_text(get_header_file(record))
    header += substring_labels + " " + ", ".join(labels) + "\n"
    save_text(get_header_file(record), header)
    return header


def load_text(filename):
    with open(filename) as f:
        return f.read()


def save_text(filename, string):
    with open(filename, "w") as f:
        f.write(string)


# --- header fields --------------------------------------------------------------------------------------------

def get_variable(string, variable_name):
    value, found = "", False
    for line in string.split("\n"):
        if line.startswith(variable_name):
            value, found = line[len(variable_name):].strip(), True
    return value, found


def get_variables(string, variable_name, sep=","):
    values, found = [], False
    for line in string.split("\n"):
        if line.startswith(variable_name):
            values += [v.strip() for v in line[len(variable_name):].strip().split(sep)]
            found = True
    return values, found


def get_signal_files_from_header(string):
    return records.parse_header(string).signal_files


def _comment_list(string, key, missing_message):
    lines = [ln for ln in string.split("\n") if ln.startswith("#")]
    if not any(ln.lstrip("#").strip().startswith(key) for ln in lines):
        raise Exception(missing_message)
    return records.comment_values(lines, key)


def get_image_files_from_header(string):
    return _comment_list(string, records.IMAGE_KEY,
                         "No images available: did you forget to generate or include the images?")


def get_labels_from_header(string):
    return _comment_list(string, records.LABELS_KEY,
                         "No labels available: are you loading labels from held-out data?")


def get_header_file(record):
    return str(records.header_path(record))


def get_signal_files(record):
    return get_signal_files_from_header(load_header(record))


def get_image_files(record):
    return get_image_files_from_header(load_header(record))


def _header(string):
    return records.parse_header(string)


def get_record_name(string):
    return _header(string).name


def get_num_signals(string):
    return _header(string).n_sig


def get_sampling_frequency(string):
    return _header(string).fs


def get_num_samples(string):
    return _header(string).n_samples


def get_signal_formats(string):
    return [s.fmt.split("x")[0].split(":")[0].split("+")[0] for s in _header(string).signals]


def get_adc_gains(string):
    return [s.gain for s in _header(string).signals]


def get_baselines(string):
    return [s.baseline for s in _header(string).signals]


def get_signal_units(string):
    return [s.units for s in _header(string).signals]


def get_adc_resolutions(string):
    return [s.adc_res for s in _header(string).signals]


def get_adc_zeros(string):
    return [s.adc_zero for s in _header(string).signals]


def _signal_field(string, index):
    """Integer field ``index`` of each signal line, or None where the (hidden) header left it empty."""
    n = get_num_signals(string)
    values = []
    for line in [ln for ln in string.split("\n") if ln.strip() and not ln.startswith("#")][1:1 + n]:
        fields = line.split(" ")
        try:
            values.append(int(fields[index]))
        except (IndexError, ValueError):
            values.append(None)
    return values


def get_initial_values(string):
    return _signal_field(string, 5)


def get_checksums(string):
    return _signal_field(string, 6)


def get_block_sizes(string):
    return _signal_field(string, 7)


def get_signal_names(string):
    return _header(string).lead_names


# --- evaluation -----------------------------------------------------------------------------------------------

def compute_one_hot_encoding(data, classes):
    encoding = np.zeros((len(data), len(classes)), dtype=np.bool_)
    for i, labels in enumerate(data):
        for j, c in enumerate(classes):
            encoding[i, j] = c in labels
    return encoding


def compute_f_measure(labels, outputs):
    macro, per_class = metrics.f_measure(labels, outputs)
    classes = sorted(per_class)
    return macro, np.array([per_class[c] for c in classes]), classes


def align_signals(label_signal, output_signal, sampling_frequency):
    """The scorer's alignment: the estimate shifted in time and amplitude when the shift is within limits."""
    alignment = metrics.find_alignment(label_signal, output_signal, sampling_frequency)
    return metrics.apply_alignment(output_signal, alignment, np.size(label_signal)), alignment


def compute_snr(label_signal, output_signal):
    return metrics.snr(label_signal, output_signal)


if __name__ == "__main__":
    print(os.path.basename(__file__), "holds helper functions; run run_model.py or evaluate_model.py")
