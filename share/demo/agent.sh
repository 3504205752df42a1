#!/usr/bin/env bash
# The scripted agent of `cake demo`. It runs the project, waits for CAKE's
# correction on stdin, applies it and runs the project again.
#
# usage: agent.sh PROJECT_DIR INDEX_DIR
# "pip install NAME" is carried out by copying NAME from INDEX_DIR, a bundled
# offline package index, so the demo needs no network.
set -u

project=$1
index=$2
export PYTHONPATH="$project/site-packages"
cd "$project" || exit 1

echo "agent: \$ python3 main.py"
if python3 main.py; then
	echo "agent: the program ran; nothing to fix"
	exit 0
fi

echo "agent: the program failed; waiting for the operator"
if ! IFS= read -r -t 30 correction; then
	echo "agent: no correction arrived within 30 s" >&2
	exit 1
fi
echo "agent: received: $correction"

case "$correction" in
*"Run pip install "*)
	package=${correction#*Run pip install }
	package=${package%%. *}
	echo "agent: \$ pip install $package   (from the demo's offline index)"
	if [ ! -d "$index/$package" ]; then
		echo "agent: $package is not in the offline index $index" >&2
		exit 1
	fi
	mkdir -p site-packages
	cp -R "$index/$package" site-packages/
	;;
*)
	echo "agent: this scripted agent cannot apply: $correction" >&2
	exit 1
	;;
esac

echo "agent: \$ python3 main.py"
python3 main.py
