"""Dataset registry: names, lookup, option setters and errors."""
from __future__ import annotations

import argparse

import pytest

import data
from data.aligned_dataset import AlignedDataset
from data.single_dataset import SingleDataset
from data.template_dataset import TemplateDataset
from data.unaligned_dataset import UnalignedDataset


def test_available_datasets_lists_every_mode_file():
    assert data.available_datasets() == ["aligned", "colorization", "single", "template", "unaligned"]


@pytest.mark.parametrize("name, cls", [("unaligned", UnalignedDataset), ("single", SingleDataset),
                                       ("aligned", AlignedDataset), ("template", TemplateDataset)])
def test_find_dataset_using_name(name, cls):
    assert data.find_dataset_using_name(name) is cls


@pytest.mark.parametrize("name", ["foo", "base", "../unaligned", "Unaligned", ""])
def test_unknown_dataset_mode_lists_available(name):
    expected = f"unknown --dataset_mode {name!r}; available: aligned, colorization, single, template, unaligned"
    with pytest.raises(ValueError) as info:
        data.find_dataset_using_name(name)
    assert str(info.value) == expected


def test_get_option_setter_template_adds_option_and_defaults():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_dataset_size", type=float, default=float("inf"))
    parser = data.get_option_setter("template")(parser, True)
    opt = parser.parse_args([])
    assert opt.max_dataset_size == 10
    assert opt.new_dataset_option == 2.0
    assert parser.parse_args(["--new_dataset_option", "3"]).new_dataset_option == 3.0


def test_get_option_setter_default_returns_parser_unchanged():
    parser = argparse.ArgumentParser()
    assert data.get_option_setter("unaligned")(parser, True) is parser
    assert vars(parser.parse_args([])) == {}


def test_create_dataset_unknown_mode(make_opt, unaligned_root):
    with pytest.raises(ValueError, match=r"unknown --dataset_mode 'nope'; available: aligned, colorization, single"):
        data.create_dataset(make_opt(dataroot=str(unaligned_root), dataset_mode="nope"))
