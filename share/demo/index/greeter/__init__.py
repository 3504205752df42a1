"""The package the demo's agent installs from the bundled offline index."""


def greet(name):
    return f"Hello, {name}! The program runs."
