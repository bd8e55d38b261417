"""The calls made to the stand-in frameworks: (name, args, kwargs)."""
import os

CALLS = []


def record(name, args, kwargs):
    CALLS.append((name, tuple(args), dict(kwargs)))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_savedmodel(directory, keras):
    """What a SavedModel directory holds, in small recognisable bytes."""
    os.makedirs(os.path.join(directory, "variables"), exist_ok=True)
    os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
    write(os.path.join(directory, "saved_model.pb"), b"\x08\x01stand-in saved_model.pb")
    write(os.path.join(directory, "variables", "variables.index"), b"stand-in index")
    write(os.path.join(directory, "variables", "variables.data-00000-of-00001"), b"stand-in data")
    if keras:
        write(os.path.join(directory, "keras_metadata.pb"), b"stand-in keras metadata")


def read_tree(directory):
    out = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, directory)] = read(path)
    return out
