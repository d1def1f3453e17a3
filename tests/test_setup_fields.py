"""Setup's fields from a run's config (`app.setup_fields`): a new session starts from the run shown."""
from app.setup_fields import fields_from_run, setup_from_run, verified_per_class
from lsw.trusted import TrustedSet

FOLDER = {"data": "folder:/photos/cats", "noise": None, "noise_seed": 0, "epochs": 15, "model": "auto",
          "batch_size": 64, "lr": 0.05, "start_epoch": 2, "threshold": 0.3, "retrain_epochs": 0, "second_pass": 0.9,
          "meta": "head", "score": "trust", "image_size": 64, "clean_set": "verified", "clean_frac": 0.1,
          "clean_per_class": None, "classes": ["cat", "dog"]}


def test_a_verified_folder_run_gives_the_folder_no_noise_and_its_sample_size():
    trusted = TrustedSet("fp", "verified", labels={f"s{i}": "cat" for i in range(10)})
    f = fields_from_run(FOLDER, ["digits"], trusted)
    assert (f["setup_kind"], f["setup_path"], f["setup_noise_type"]) == ("folder", "/photos/cats", "none")
    assert (f["setup_clean_by"], f["setup_verify_n"], f["setup_epochs"], f["setup_image_size"]) == ("verify", 5, 15, 64)
    assert (f["setup_batch"], f["setup_lr"]) == (64, 0.05)


def test_a_demo_run_keeps_its_noise_and_its_trusted_share():
    f = fields_from_run({**FOLDER, "data": "digits", "noise": "instance:0.4", "clean_set": "random",
                         "clean_per_class": 20}, ["digits"])
    assert (f["setup_kind"], f["setup_path"], f["setup_noise_type"], f["setup_noise_rate"]) == (
        "digits", "", "instance", 0.4)
    assert (f["setup_clean_by"], f["setup_clean_mode"], f["setup_cpc"]) == ("random", "per class", 20)
    f = fields_from_run({**FOLDER, "clean_set": "random", "clean_frac": 0.05}, ["digits"])
    assert (f["setup_clean_mode"], f["setup_frac"]) == ("fraction", 0.05)


def test_values_setup_cannot_show_are_left_to_its_defaults():
    f = fields_from_run({**FOLDER, "epochs": 900, "batch_size": 4, "model": "resnet1000", "clean_set": "random",
                         "clean_frac": 0.8}, ["digits"])
    assert not {"setup_epochs", "setup_batch", "setup_model", "setup_frac"} & set(f)
    assert f["setup_kind"] == "folder"
    assert fields_from_run({**FOLDER, "data": "cifar10:/data/cifar10-jpeg.npz"}, ["digits"]) == {}
    assert fields_from_run({**FOLDER, "data": "fashion-mnist"}, ["digits"]) == {}  # not on this machine


def test_verified_per_class_reads_the_trusted_set():
    assert verified_per_class(None, 10) is None
    assert verified_per_class(TrustedSet("fp", "verified"), 10) is None
    assert verified_per_class(TrustedSet("fp", "verified", labels={str(i): "a" for i in range(39)}), 10) == 4


def test_an_unreadable_copy_of_the_trusted_set_leaves_the_sample_size_to_setup(tmp_path):
    class Run:  # a run folder whose trusted.json copy is corrupt
        def config(self):
            return FOLDER

        def trusted_set(self):
            from lsw.errors import LswError

            raise LswError("trusted set t.json cannot be read")

    f = setup_from_run(Run(), ["digits"])
    assert f["setup_clean_by"] == "verify" and "setup_verify_n" not in f
