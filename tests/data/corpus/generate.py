#!/usr/bin/env python3
"""Regenerate the detection corpus by running real tools.

Each scenario writes a few files into a temporary directory, runs one
command there and stores its combined stdout and stderr in samples/, with the
temporary directory shown as /workspace. manifest.tsv lists every sample
with its expected error type ("clean" for none) and a substring of the
expected fix. Samples of tools missing here (tsc, old npm and go versions)
are kept in documented/ and listed in manifest-documented.tsv, which this
script does not touch.

Needs python3 (with /usr/bin/python3 -m pytest and pytest-cov), gcc, clang,
make, git, node, npm, cargo and go. npm reaches its registry for the
ERESOLVE scenario. Run from anywhere: python3 tests/data/corpus/generate.py
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "samples")
PY = "/usr/bin/python3"

scenarios = []


def scenario(name, command, files=None, expected="clean", fix="", timeout=120, setup=None):
    scenarios.append(dict(name=name, command=command, files=files or {}, expected=expected,
                          fix=fix, timeout=timeout, setup=setup))


# Python: missing modules, each imported from a project file.
for module in ["requests", "numpy", "flask", "pydantic", "pandas", "django", "boto3", "redis",
               "httpx", "sqlalchemy"]:
    scenario(f"python-module-{module}", f"{PY} app.py",
             {"app.py": f"from service import client\n",
              "service/__init__.py": "",
              "service/client.py": f"import os\nimport {module}\n"},
             "ImportError", f"pip install {module}")
for module in ["plugins.banner", "app.models.user", "utils.strings"]:
    scenario(f"python-submodule-{module}", f"{PY} main.py",
             {"main.py": f"import {module}\n", f"{module.split('.')[0]}/__init__.py": ""},
             "ImportError", ".".join(module.split(".")[:2]))
scenario("python-circular-import", f"{PY} main.py",
         {"main.py": "from embedchain import App\n",
          "embedchain/__init__.py": "from embedchain.app import App\n",
          "embedchain/app.py": "from embedchain import App as Base\nclass App: pass\n"},
         "ImportError", "circular import")
scenario("python-circular-import-models", f"{PY} run.py",
         {"run.py": "import shop.models\n",
          "shop/__init__.py": "",
          "shop/models.py": "from shop.views import render\nclass Order: pass\n",
          "shop/views.py": "from shop.models import Order\ndef render(): pass\n"},
         "ImportError", "circular import")
scenario("python-cannot-import-name", f"{PY} main.py",
         {"main.py": "from helpers import slugify\n", "helpers.py": "def other(): pass\n"},
         "ImportError", "defines slugify")

syntax_cases = {
    "colon": "def broken(:\n    pass\n",
    "paren": "print('hello'\nx = 1\n",
    "string": "s = 'unterminated\n",
    "keyword": "class = 3\n",
    "assign": "if x = 3:\n    pass\n",
    "bracket": "items = [1, 2, 3\n",
    "fstring": "name = 1\nprint(f'{name')\n",
    "missing-comma": "values = {'a': 1 'b': 2}\n",
}
for key, code in syntax_cases.items():
    scenario(f"python-syntax-{key}", f"{PY} util.py", {"util.py": code}, "SyntaxError",
             "util.py")
indent_cases = {
    "expected": "def f():\nreturn 1\n",
    "unexpected": "x = 1\n    y = 2\n",
    "unindent": "def f():\n        a = 1\n    b = 2\n",
    "tab": "def f():\n\tif True:\n        return 1\n\treturn 2\n",
}
for key, code in indent_cases.items():
    scenario(f"python-indent-{key}", f"{PY} module.py", {"module.py": code}, "IndentationError",
             "indentation")
attribute_cases = {
    "none": "def load():\n    return None\ncfg = load()\nprint(cfg.debug)\n",
    "object": "class Settings:\n    version = 1\ns = Settings()\nprint(s.verbose)\n",
    "module": "import os\nos.getcwdx()\n",
    "str": "name = 'x'\nname.append('y')\n",
    "none-method": "import re\nm = re.match('a', 'b')\nprint(m.group(0))\n",
}
for key, code in attribute_cases.items():
    scenario(f"python-attribute-{key}", f"{PY} settings.py", {"settings.py": code},
             "AttributeError", "settings.py" if key in ("none", "none-method") else "")
for key, code in {"simple": "print(totl)\n", "function": "def f():\n    return helper()\nf()\n",
                  "loop": "for i in range(3):\n    total += i\n" if False else "print(undefined_name)\n"}.items():
    scenario(f"python-name-{key}", f"{PY} calc.py", {"calc.py": code}, "NameError", "")
type_cases = {
    "args": "def f(a):\n    return a\nf(1, 2)\n",
    "operand": "x = 1 + 'a'\n",
    "subscript": "v = None\nv[0]\n",
    "callable": "n = 3\nn()\n",
    "missing": "def f(a, b):\n    pass\nf(1)\n",
}
for key, code in type_cases.items():
    scenario(f"python-type-{key}", f"{PY} calc.py", {"calc.py": code}, "TypeError", "calc.py")
for key, code in {"dict": "d = {'a': 1}\nprint(d['name'])\n",
                  "env": "import os\nprint(os.environ['CAKE_SECRET_KEY_X'])\n",
                  "nested": "cfg = {'db': {}}\nprint(cfg['db']['host'])\n"}.items():
    scenario(f"python-key-{key}", f"{PY} config.py", {"config.py": code}, "KeyError", "")
scenario("python-permission-write", f"runuser -u nobody -- {PY} writer.py",
         {"writer.py": "open('/etc/cake-test-output', 'w').write('x')\n"},
         "PermissionError", "/etc/cake-test-output")
scenario("python-permission-mkdir", f"runuser -u nobody -- {PY} writer.py",
         {"writer.py": "import os\nos.makedirs('/var/lib/cake-test/data')\n"},
         "PermissionError", "/var/lib/cake-test")
scenario("python-file-not-found", f"{PY} reader.py",
         {"reader.py": "with open('config.json') as f:\n    print(f.read())\n"},
         "FileNotFoundError", "config.json")
scenario("python-cannot-open-file", f"{PY} missing_script.py", {}, "FileNotFoundError",
         "missing_script.py")
scenario("python-zero-division", f"{PY} stats.py", {"stats.py": "values = []\nprint(sum(values) / len(values))\n"},
         "ZeroDivisionError", "stats.py")
scenario("python-value-error", f"{PY} parse.py", {"parse.py": "print(int('12a'))\n"},
         "ValueError", "parse.py")
scenario("python-index-error", f"{PY} parse.py", {"parse.py": "items = []\nprint(items[0])\n"},
         "IndexError", "parse.py")
scenario("python-recursion", f"{PY} rec.py", {"rec.py": "def f(n):\n    return f(n + 1)\nf(0)\n"},
         "RecursionError", "rec.py")
scenario("python-json-decode", f"{PY} load.py",
         {"load.py": "import json\njson.loads('{bad json}')\n"}, "PythonException", "load.py")
scenario("python-runtime-error", f"{PY} worker.py",
         {"worker.py": "def run():\n    raise RuntimeError('worker pool is closed')\nrun()\n"},
         "PythonException", "worker.py")
scenario("python-library-frame", f"{PY} parse_date.py",
         {"parse_date.py": "import datetime\nd = datetime.datetime.strptime('2024-13-01', '%Y-%m-%d')\n"},
         "ValueError", "parse_date.py")

# pytest.
test_project = {
    "shop/__init__.py": "",
    "shop/cart.py": "def total(items):\n    return sum(items)\n\ndef unused(x):\n    if x:\n        return 1\n    return 2\n",
}
for n in range(1, 7):
    files = dict(test_project)
    files[f"tests/test_cart{n}.py"] = (
        "from shop.cart import total\n\n"
        f"def test_total_{n}():\n    assert total([1, {n}]) == {n + 2}\n\n"
        "def test_fail_gracefully():\n    assert True\n")
    scenario(f"pytest-failed-{n}", f"{PY} -m pytest -q -p no:cacheprovider", files, "TestFailure",
             f"test_cart{n}.py::test_total_{n}")
for module in ["requests", "numpy", "attrs_missing"]:
    files = dict(test_project)
    files["tests/test_app.py"] = f"import {module}\n\ndef test_ok():\n    assert True\n"
    scenario(f"pytest-collect-import-{module}", f"{PY} -m pytest -p no:cacheprovider", files,
             "ImportError", f"pip install {module}")
files = dict(test_project)
files["tests/test_broken.py"] = "def test_x(:\n    pass\n"
scenario("pytest-collect-syntax", f"{PY} -m pytest -p no:cacheprovider", files, "SyntaxError",
         "test_broken.py")
files = dict(test_project)
files["tests/test_x.py"] = "import pytest\npytest.skip('x')\n"
scenario("pytest-collect-skip-module", f"{PY} -m pytest -p no:cacheprovider", files,
         "TestCollectionError", "tests/test_x.py")
files = dict(test_project)
files["tests/test_cart.py"] = "from shop.cart import total\n\ndef test_total():\n    assert total([1]) == 1\n"
for threshold in [85, 90, 95, 99]:
    scenario(f"pytest-cov-fail-under-{threshold}",
             f"{PY} -m pytest -p no:cacheprovider --cov=shop --cov-fail-under={threshold}", files,
             "CoverageDrop", f"to {threshold}%")
    scenario(f"coverage-report-fail-under-{threshold}",
             f"{PY} -m coverage run -m pytest -q -p no:cacheprovider >/dev/null; {PY} -m coverage report --fail-under={threshold}",
             files, "CoverageDrop", f"to {threshold}%")

# pip.
for package in ["requests", "flask", "numpy"]:
    scenario(f"pip-externally-managed-{package}", f"{PY} -m pip install {package}", {},
             "ExternallyManagedEnvironment", "venv")
for package in ["reqeusts", "fastapi-nonexistent-cake", "numpy==99.0"]:
    scenario(f"pip-no-distribution-{package}",
             f"{PY} -m venv .venv >/dev/null && .venv/bin/pip install --no-index {package}", {},
             "DependencyNotFound", package)

# node and npm.
for module in ["express", "lodash", "axios", "chalk"]:
    scenario(f"node-cannot-find-{module}", "node index.js",
             {"index.js": f"const m = require('{module}');\nconsole.log(m);\n"},
             "ModuleNotFound", f"npm install {module}")
scenario("node-cannot-find-local", "node server.js",
         {"server.js": "const hash = require('./lib/hash');\n"}, "ModuleNotFound", "./lib/hash")
for script in ["build", "lint", "start:dev"]:
    scenario(f"npm-missing-script-{script}", f"npm run {script}",
             {"package.json": '{"name": "app", "version": "1.0.0", "scripts": {"test": "echo ok"}}\n'},
             "MissingScript", "package.json")
scenario("npm-eresolve-react", "npm install --no-audit --no-fund --ignore-scripts --dry-run",
         {"package.json": '{"name": "app", "version": "1.0.0", "dependencies": {"react": "17.0.2", "react-dom": "18.2.0"}}\n'},
         "DependencyConflict", "peer dependency", timeout=300)
eaddr = ("const http = require('http');\n"
         "const a = http.createServer().listen(PORT, '127.0.0.1', () => {\n"
         "  http.createServer().listen(PORT, '127.0.0.1');\n});\n")
for port in [38111, 38112, 38113]:
    scenario(f"node-eaddrinuse-{port}", "timeout 5 node server.js",
             {"server.js": eaddr.replace("PORT", str(port))}, "PortInUse", f":{port}")
scenario("node-eacces", "runuser -u nobody -- node write.js",
         {"write.js": "require('fs').mkdirSync('/usr/lib/cake-test-dir');\n"}, "PermissionError",
         "/usr/lib/cake-test-dir")
scenario("node-reference-error", "node app.js",
         {"app.js": "function main() {\n  return countr + 1;\n}\nmain();\n"}, "NameError", "app.js")

# gcc, clang and make.
for compiler in ["gcc", "clang"]:
    for header in ["io.h", "curl/curl.h", "config.h"]:
        scenario(f"{compiler}-missing-header-{header.replace('/', '-')}",
                 f"{compiler} -c src/fb.c -o fb.o",
                 {"src/fb.c": f"#include <{header}>\nint main(void) {{ return 0; }}\n"},
                 "MissingHeader", header)
    scenario(f"{compiler}-undefined-reference", f"{compiler} main.c -o main",
             {"main.c": "int foo(void);\nint main(void) { return foo(); }\n"}, "LinkerError", "foo")
    scenario(f"{compiler}-undefined-reference-lib", f"{compiler} main.c -o main",
             {"main.c": "#include <math.h>\nint compute(double);\nint main(void) { return compute(2.0); }\n"},
             "LinkerError", "compute")
    scenario(f"{compiler}-undeclared", f"{compiler} -c main.c",
             {"main.c": "int main(void) {\n    return counter + 1;\n}\n"}, "UndeclaredIdentifier",
             "counter")
    scenario(f"{compiler}-undeclared-loop", f"{compiler} -c loop.c",
             {"loop.c": "int sum(void) {\n    int s = 0;\n    for (i = 0; i < 3; i++)\n        s += i;\n    return s;\n}\n"},
             "UndeclaredIdentifier", "loop.c")
    scenario(f"{compiler}-syntax", f"{compiler} -c parse.c",
             {"parse.c": "int main(void) {\n    int x = 1\n    return x;\n}\n"}, "CompileError",
             "parse.c")
    scenario(f"{compiler}-type", f"{compiler} -c types.c",
             {"types.c": "struct p { int x; };\nint main(void) {\n    struct p v;\n    return v.y;\n}\n"},
             "CompileError", "types.c")
makefile = "CC ?= cc\nbuild/fb_c.o: src/fb.c\n\tmkdir -p build\n\t$(CC) -c src/fb.c -o build/fb_c.o\n"
for header in ["io.h", "sys/cake.h"]:
    scenario(f"make-gcc-missing-header-{header.replace('/', '-')}", "make CC=gcc",
             {"Makefile": makefile, "src/fb.c": f"#include <{header}>\nint x;\n"},
             "MissingHeader", header)
scenario("make-no-rule", "make all", {"Makefile": "all: app\napp: main.o\n\tcc -o app main.o\n"},
         "BuildFailure", "main.o")
scenario("make-missing-separator", "make", {"Makefile": "all:\n    echo hi\n"}, "BuildFailure",
         "tab")
scenario("make-script-not-executable", "make test",
         {"Makefile": "test:\n\t./run_tests.sh\n", "run_tests.sh": "#!/bin/sh\nexit 3\n"},
         "PermissionError", "chmod +x ./run_tests.sh")
scenario("make-script-fails", "chmod +x run_tests.sh && make test",
         {"Makefile": "test:\n\t./run_tests.sh\n", "run_tests.sh": "#!/bin/sh\nexit 3\n"},
         "BuildFailure", "target test")
scenario("make-undefined-reference", "make",
         {"Makefile": "app: main.c\n\tcc main.c -o app\n",
          "main.c": "void setup(void);\nint main(void) { setup(); return 0; }\n"},
         "LinkerError", "setup")


# Rust.
def cargo_project(body):
    return {"Cargo.toml": '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
            "src/main.rs": body}


rust_cases = {
    "moved": 'fn main() {\n    let s1 = String::from("hi");\n    let s2 = s1;\n    println!("{} {}", s1, s2);\n}\n',
    "undefined": 'fn main() {\n    println!("{}", countr);\n}\n',
    "mismatch": 'fn main() {\n    let x: i32 = "five";\n    println!("{}", x);\n}\n',
    "method": 'fn main() {\n    let v = vec![1];\n    v.push_all(2);\n}\n',
    "borrow-mut": 'fn main() {\n    let v = vec![1];\n    v.push(2);\n}\n',
    "unresolved-import": 'use std::collections::HashMapp;\nfn main() {}\n',
    "missing-semicolon": 'fn main() {\n    let x = 1\n    println!("{}", x);\n}\n',
}
for key, body in rust_cases.items():
    scenario(f"cargo-{key}", "cargo build --offline --quiet", cargo_project(body),
             "RustCompileError", "src/main.rs")
scenario("rustc-moved", "rustc main.rs -o main",
         {"main.rs": 'fn main() {\n    let s1 = String::from("x");\n    let s2 = s1;\n    println!("{}", s1);\n    drop(s2);\n}\n'},
         "RustCompileError", "main.rs")
scenario("cargo-panic", "cargo run --offline --quiet",
         cargo_project('fn main() {\n    let v: Vec<i32> = Vec::new();\n    println!("{}", v[3]);\n}\n'),
         "RustPanic", "src/main.rs")
scenario("cargo-unwrap", "cargo run --offline --quiet",
         cargo_project('fn main() {\n    let n: i32 = "x".parse().unwrap();\n    println!("{}", n);\n}\n'),
         "RustPanic", "src/main.rs")

# Go.
goquery = ('package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"os"\n\t"strings"\n\t"time"\n\t"log"\n'
           '\t"io"\n\t"sort"\n\n\t"github.com/PuerkitoBio/goquery"\n)\n\nfunc main() { fmt.Println(goquery.Document{}) }\n')
scenario("go-no-gomod", "GOPROXY=off go build main.go",
         {"main.go": goquery}, "GoMissingModule", "go get github.com/PuerkitoBio/goquery")
for key, pkg in {"uuid": "github.com/google/uuid", "yaml": "gopkg.in/yaml.v3"}.items():
    scenario(f"go-missing-module-{key}", "GOPROXY=off go build ./...",
             {"go.mod": "module example.com/app\n\ngo 1.19\n",
              "main.go": f'package main\n\nimport "{pkg}"\n\nvar _ = {pkg.split("/")[-1].split(".")[0]}.New\n\nfunc main() {{}}\n'},
             "GoMissingModule", f"go get {pkg}")
for imp in ["os", "strings", "fmt"]:
    scenario(f"go-unused-import-{imp}", "go build ./...",
             {"go.mod": "module example.com/app\n\ngo 1.19\n",
              "main.go": f'package main\n\nimport "{imp}"\n\nfunc main() {{}}\n'},
             "GoUnusedImport", f'"{imp}"')
scenario("go-undefined", "go build ./...",
         {"go.mod": "module example.com/app\n\ngo 1.19\n",
          "main.go": "package main\n\nfunc main() {\n\thelper()\n}\n"}, "UndeclaredIdentifier", "helper")
scenario("go-type-mismatch", "go build ./...",
         {"go.mod": "module example.com/app\n\ngo 1.19\n",
          "main.go": 'package main\n\nfunc main() {\n\tvar x int = "a"\n\t_ = x\n}\n'}, "GoCompileError", "main.go")
scenario("go-panic", "go run main.go",
         {"main.go": "package main\n\nfunc main() {\n\tvar s []int\n\t_ = s[5]\n}\n"}, "GoPanic", "main.go")

# git.
push_setup = ("git init -q --bare remote.git && git clone -q remote.git a 2>/dev/null && "
              "git clone -q remote.git b 2>/dev/null && "
              "(cd a && git checkout -q -b main && echo 1 > f && git add f && git commit -qm one && git push -q origin main) && "
              "(cd b && git checkout -q -b main && echo 2 > g && git add g && git commit -qm two)")
for n in range(3):
    scenario(f"git-push-rejected-{n}", f"{push_setup} && cd b && git push origin main",
             {}, "PushRejected", "git pull --rebase")
merge_setup = ("git init -q -b main . && echo base > {f} && git add {f} && git commit -qm base && "
               "git checkout -q -b feature && echo feature > {f} && git commit -qam feature && "
               "git checkout -q main && echo main > {f} && git commit -qam main && git merge feature")
for f in ["app.py", "src/config.yaml", "README.md"]:
    scenario(f"git-merge-conflict-{os.path.basename(f)}",
             ("mkdir -p src && " if "/" in f else "") + merge_setup.format(f=f), {}, "MergeConflict", f)
for cmd in ["git status", "git log --oneline", "git diff", "git add ."]:
    scenario(f"git-not-repo-{cmd.split()[1]}", cmd, {}, "NotAGitRepository", "git init")
scenario("git-local-changes", "git init -q -b main . && echo 1 > f && git add f && git commit -qm one && "
         "git checkout -q -b other && echo 2 > f && git commit -qam two && git checkout -q main && "
         "echo local > f && git checkout other", {}, "UncommittedChanges", "git stash")

# Shell.
for cmd in ["pytset", "nmp", "cargoo", "pyhton3"]:
    scenario(f"bash-command-not-found-{cmd}", f"bash -c '{cmd} --version'", {}, "CommandNotFound", cmd)
scenario("bash-script-command-not-found", "bash build.sh", {"build.sh": "echo building\ncompile_all src\n"},
         "CommandNotFound", "compile_all")
scenario("sh-command-not-found", "sh -c 'tsc --build'", {}, "CommandNotFound", "tsc")
scenario("bash-permission-denied", "bash -c ./deploy.sh", {"deploy.sh": "#!/bin/sh\necho deploy\n"},
         "PermissionError", "chmod +x ./deploy.sh")
scenario("bash-permission-denied-run", "bash -c ./run.sh", {"run.sh": "#!/bin/sh\necho run\n"},
         "PermissionError", "./run.sh")
scenario("bash-permission-redirect", "runuser -u nobody -- bash -c 'echo x > /etc/cake-test-file'", {},
         "PermissionError", "/etc/cake-test-file")
scenario("bash-no-such-file", "bash -c ./missing.sh", {}, "FileNotFoundError", "./missing.sh")

# Clean outputs.
for n in range(1, 13):
    files = dict(test_project)
    for t in range(n):
        files[f"tests/test_mod{t}.py"] = (f"from shop.cart import total\n\ndef test_total_{t}():\n    assert total([{t}, 1]) == {t + 1}\n\n"
                                          "def test_fail_gracefully():\n    assert True\n\n"
                                          "def test_error_handler_logs():\n    assert 'error' in 'error_handler'\n")
    scenario(f"clean-pytest-{n}", f"{PY} -m pytest -p no:cacheprovider" + (" -v" if n % 2 else ""), files)
    scenario(f"clean-pytest-cov-{n}", f"{PY} -m pytest -p no:cacheprovider --cov=shop --cov-fail-under=10", files)
for n in range(1, 6):
    files = dict(test_project)
    files["tests/test_warn.py"] = ("import warnings\n\ndef test_warns():\n"
                                  f"    warnings.warn('deprecated call {n}', DeprecationWarning)\n    assert True\n")
    scenario(f"clean-pytest-warnings-{n}", f"{PY} -m pytest -p no:cacheprovider", files)
    scenario(f"clean-pytest-skip-xfail-{n}", f"{PY} -m pytest -p no:cacheprovider -rs", {
        **test_project, "tests/test_s.py": "import pytest\n\n@pytest.mark.skip(reason='no network')\ndef test_a():\n    pass\n\n"
        "@pytest.mark.xfail(reason='known bug')\ndef test_b():\n    assert 0\n\ndef test_c():\n    assert 1\n"})
for n in range(1, 9):
    files = {"app.py": f"import logging\nlogging.basicConfig(level=logging.INFO)\nlog = logging.getLogger('app')\n"
             f"for i in range({n}):\n    log.info('processed batch %d, 0 errors', i)\n"
             "print('error_handler.py loaded')\nprint('Found 0 errors in 3 files')\n"
             "try:\n    import not_installed_optional\nexcept ImportError:\n    print('optional module missing, using the fallback')\n"}
    scenario(f"clean-python-app-{n}", f"{PY} app.py", files)
for n in range(1, 9):
    files = {f"src/m{i}.c": f"int f{i}(int x) {{ return x * {i}; }}\n" for i in range(n)}
    files["src/main.c"] = "#include <stdio.h>\nint main(void) { printf(\"0 errors, 0 warnings\\n\"); return 0; }\n"
    files["Makefile"] = ("SRC := $(wildcard src/*.c)\nOBJ := $(SRC:src/%.c=build/%.o)\napp: $(OBJ)\n\t$(CC) -o $@ $(OBJ)\n"
                         "build/%.o: src/%.c\n\t@mkdir -p build\n\t$(CC) -Wall -c $< -o $@\n")
    scenario(f"clean-make-{n}", "make && ./app", files)
for compiler in ["gcc", "clang"]:
    for n, code in enumerate(["int main(void) { int unused; return 0; }\n",
                              "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 1); return 0; }\n",
                              "static int helper(void) { return 1; }\nint main(void) { return 0; }\n"]):
        scenario(f"clean-{compiler}-warnings-{n}", f"{compiler} -Wall -Wextra main.c -o main && ./main",
                 {"main.c": code})
for n, body in enumerate(['fn main() {\n    println!("0 errors");\n}\n',
                          'fn main() {\n    let unused = 1;\n    println!("ok");\n}\n',
                          'use std::collections::HashMap;\nfn main() {\n    println!("no error here");\n}\n',
                          '#[cfg(test)]\nmod tests {\n    #[test]\n    fn test_fail_gracefully() { assert!(true); }\n    #[test]\n    fn error_path() { assert_eq!(1, 1); }\n}\nfn main() {}\n']):
    scenario(f"clean-cargo-build-{n}", "cargo build --offline", cargo_project(body))
    scenario(f"clean-cargo-test-{n}", "cargo test --offline", cargo_project(body))
for n in range(4):
    scenario(f"clean-go-{n}", "go vet ./... && go test ./... && go run .",
             {"go.mod": "module example.com/app\n\ngo 1.19\n",
              "main.go": f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("errors: 0, run {n}") }}\n',
              "main_test.go": 'package main\n\nimport "testing"\n\nfunc TestErrorHandler(t *testing.T) {}\nfunc TestFailGracefully(t *testing.T) {}\n'})
for n in range(6):
    scenario(f"clean-npm-run-{n}", "npm run build && npm test",
             {"package.json": '{"name": "app", "version": "1.0.%d", "scripts": {"build": "node build.js", "test": "node --test"}}\n' % n,
              "build.js": f"console.log('built {n} files, 0 errors');\n",
              "test/error_handler.test.js": "const test = require('node:test');\nconst assert = require('node:assert');\n"
              "test('fail gracefully', () => { assert.ok(true); });\ntest('handles errors', () => { assert.equal(1, 1); });\n"})
for n in range(4):
    scenario(f"clean-node-{n}", "node app.js",
             {"app.js": f"console.log('server ready on port {3000 + n}');\nconsole.warn('warning: using default config');\n"
              "try { require('optional-dep'); } catch (e) { console.log('optional-dep not installed, skipping'); }\n"})
for n in range(6):
    scenario(f"clean-git-{n}",
             "git init -q -b main . && echo a > a.txt && git add . && git commit -m 'Add error_handler' && "
             f"git checkout -b feature-{n} && echo b > b.txt && git add . && git commit -m 'Fix failing test' && "
             "git checkout main && git merge feature-%d && git log --oneline && git status" % n, {})
for n in range(4):
    scenario(f"clean-git-push-{n}",
             "git init -q --bare remote.git && git clone remote.git w && cd w && git checkout -b main && "
             f"echo {n} > f && git add f && git commit -m 'Handle errors' && git push origin main && git push origin main", {})
for n in range(5):
    scenario(f"clean-pip-{n}", f"{PY} -m venv .venv && .venv/bin/pip --version && .venv/bin/pip list && "
             ".venv/bin/pip install --no-index pip", {})
for n in range(6):
    scenario(f"clean-shell-{n}", f"ls -la && echo 'grep -c error log.txt: 0' && cat notes.txt && wc -l notes.txt",
             {"notes.txt": f"TODO {n}: improve error messages\nerror_handler.py handles PermissionError\n"
                           "No failures in the last run.\n"})

# Errors embedded in longer sessions: the first detection counts.
for n in range(4):
    files = dict(test_project)
    files["tests/test_cart.py"] = "from shop.cart import total\n\ndef test_total():\n    assert total([1]) == 1\n"
    files["app.py"] = f"import shop.cart\nprint(shop.cart.total([1, 2]))\nimport missing_mod_{n}\n"
    scenario(f"session-tests-then-import-{n}", f"{PY} -m pytest -q -p no:cacheprovider; {PY} app.py",
             files, "ImportError", f"pip install missing_mod_{n}")

for n in range(10):
    scenario(f"clean-unittest-{n}", f"{PY} -m unittest -v",
             {f"test_handler{n}.py": "import unittest\n\nclass ErrorHandlerTest(unittest.TestCase):\n"
              "    def test_fail_gracefully(self):\n        self.assertTrue(True)\n\n"
              "    def test_error_is_logged(self):\n        self.assertEqual('0 errors', '0 errors')\n"
              + "".join(f"\n    def test_case_{i}(self):\n        self.assertEqual({i}, {i})\n" for i in range(n))})
source_files = {
    "handler.py": "try:\n    import yaml\nexcept ImportError:\n    yaml = None\n\n"
                  "def load(path):\n    try:\n        return open(path).read()\n    except PermissionError:\n"
                  "        log.error('Permission denied for %s', path)\n    except (KeyError, TypeError) as e:\n"
                  "        raise ValueError('bad config') from e\n",
    "errors.go": "package app\n\nimport \"errors\"\n\nvar ErrNotFound = errors.New(\"not found\")\n\n"
                 "func Load() error {\n\tif err := open(); err != nil {\n\t\treturn fmt.Errorf(\"load: %w\", err)\n\t}\n\treturn nil\n}\n",
    "error.rs": "#[derive(Debug)]\npub enum Error {\n    Io(std::io::Error),\n    Parse(String),\n}\n\n"
                "impl std::fmt::Display for Error {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {\n"
                "        write!(f, \"error: {:?}\", self)\n    }\n}\n",
    "errors.ts": "export class NotFoundError extends Error {}\n// TS2307 is reported when a module is missing\n"
                 "export function handle(e: unknown): string {\n  return e instanceof Error ? e.message : 'unknown error';\n}\n",
    "log.c": "#include <stdio.h>\n/* error: is printed by the caller */\nvoid log_error(const char *m) { fprintf(stderr, \"%s\\n\", m); }\n",
}
for n, (name, content) in enumerate(source_files.items()):
    scenario(f"clean-cat-source-{n}", f"cat {name} && wc -l {name}", {name: content})
    scenario(f"clean-git-diff-{n}", f"git init -q -b main . && git add . && git commit -qm base && "
             f"echo '// handle the error case' >> {name} && git diff && git commit -qam 'Handle errors' && git log --stat -1",
             {name: content})
for n in range(5):
    scenario(f"clean-make-dry-run-{n}", "make -n all",
             {"Makefile": "all: build test\nbuild:\n\tcc -Wall -Werror -o app main.c\ntest:\n\t./app --check-errors\n"
              + "".join(f"extra{i}:\n\techo {i}\n" for i in range(n))})
for n in range(5):
    scenario(f"clean-compileall-{n}", f"{PY} -m compileall -q . && {PY} -m py_compile *.py && echo compiled",
             {f"mod{i}.py": f"def f{i}():\n    return {i}\n" for i in range(n + 1)})
for n in range(4):
    scenario(f"clean-npm-init-{n}", "npm init -y && npm pkg set scripts.test='node --test' && npm ls", {})
    scenario(f"clean-node-test-verbose-{n}", "node --test --test-reporter=spec",
             {f"test/t{n}.test.js": "const test = require('node:test');\n"
              "test('fail gracefully on bad input', () => {});\ntest('error handler returns 500', () => {});\n"})
for n in range(4):
    scenario(f"clean-cargo-run-{n}", "cargo run --offline",
             cargo_project(f'fn main() {{\n    let errors = 0;\n    println!("checked {n} files, {{}} errors", errors);\n}}\n'))
    scenario(f"clean-go-test-v-{n}", "go test -v ./...",
             {"go.mod": "module example.com/app\n\ngo 1.19\n",
              "app_test.go": f'package app\n\nimport "testing"\n\nfunc TestErrorPath{n}(t *testing.T) {{ t.Log("error path ok") }}\n'})
for n in range(4):
    scenario(f"clean-pip-already-{n}", f"{PY} -m venv .venv && .venv/bin/pip install --no-index pip setuptools && "
             ".venv/bin/pip show pip", {})


def write_files(root, files):
    for path, content in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)


def scrub(text, root):
    text = text.replace(os.path.realpath(root), "/workspace").replace(root, "/workspace")
    text = text.replace("/root/", "/home/agent/")
    return re.sub(r"cake-corpus-[a-z0-9_]{8}", "workspace", text)


def main():
    only = sys.argv[1:]
    os.makedirs(SAMPLES, exist_ok=True)
    rows = []
    env = dict(os.environ, NO_COLOR="1", CARGO_TERM_COLOR="never", GIT_AUTHOR_NAME="Agent",
               GIT_AUTHOR_EMAIL="agent@example.com", GIT_COMMITTER_NAME="Agent",
               GIT_COMMITTER_EMAIL="agent@example.com", GOPROXY="off",
               GOPATH="/tmp/cake-corpus-gopath", GOCACHE="/tmp/cake-corpus-gocache",
               npm_config_update_notifier="false", PYTHONDONTWRITEBYTECODE="1")
    for s in scenarios:
        name = s["name"]
        sample = f"{name}.txt"
        if not only or name in only:
            root = tempfile.mkdtemp(prefix="cake-corpus-")
            os.chmod(root, 0o755)
            write_files(root, s["files"])
            result = subprocess.run(s["command"], shell=True, cwd=root, env=env, timeout=s["timeout"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            output = scrub(result.stdout.decode("utf-8", "replace"), root)
            shutil.rmtree(root, ignore_errors=True)
            with open(os.path.join(SAMPLES, sample), "w") as f:
                f.write(f"$ {s['command']}\n{output}")
            print(f"{name}: exit {result.returncode}, {len(output)} bytes")
        rows.append(f"samples/{sample}\t{s['expected']}\t{s['fix']}\n")
    with open(os.path.join(HERE, "manifest.tsv"), "w") as f:
        f.write("# file\texpected type or clean\tsubstring of the expected fix\n")
        f.writelines(rows)


if __name__ == "__main__":
    main()
