#!/usr/bin/env python3
"""The README's example, as a test.

README.md marks its example with the HTML comment `<!-- readme-example -->` on the line
before a ```c block, and the program's expected output with `<!-- readme-output -->`
before a ```text block. (HTML comments do not show when the README is rendered.)

    readme.py extract README.md OUT.c   writes the example to OUT.c, with #line
                                        directives so compiler errors point into README.md
    readme.py run README.md PROGRAM     runs PROGRAM and compares what it prints with
                                        the README's output block; exits 1 on a difference
"""
import os
import subprocess
import sys

EXAMPLE = "<!-- readme-example -->"
OUTPUT = "<!-- readme-output -->"


def block(path, marker, lang):
    """(first line number, text) of the fenced block right after the marker line."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(starts) != 1:
        sys.exit(f"{path}: expected exactly one line '{marker}', found {len(starts)}")
    i = starts[0] + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines) or lines[i].strip() != "```" + lang:
        sys.exit(f"{path}:{i + 1}: expected a ```{lang} block after '{marker}'")
    body = []
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == "```":
            return i + 2, "\n".join(body) + "\n"
        body.append(lines[j])
    sys.exit(f"{path}:{i + 1}: the ```{lang} block after '{marker}' is not closed")


def extract(readme, out):
    first, code = block(readme, EXAMPLE, "c")
    name = os.path.abspath(readme).replace("\\", "\\\\").replace('"', '\\"')
    with open(out, "w", encoding="utf-8") as f:
        f.write("/* Generated from README.md by tests/readme/readme.py: do not edit. */\n")
        f.write(f'#line {first} "{name}"\n')
        f.write(code)


def run(readme, program):
    _, want = block(readme, OUTPUT, "text")
    # A bare name would be looked up in PATH: make it a path.
    proc = subprocess.run([os.path.abspath(program)], stdout=subprocess.PIPE, text=True)
    got = proc.stdout
    print(got, end="")
    if proc.returncode != 0:
        sys.exit(f"readme: the example exited with status {proc.returncode}")
    if got.strip() != want.strip():
        sys.exit("readme: the example's output differs from README.md's output block:\n"
                 f"--- README.md\n{want}--- the program\n{got}")
    print("readme: the output matches README.md")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("extract", "run"):
        sys.exit(__doc__)
    (extract if argv[1] == "extract" else run)(argv[2], argv[3])


if __name__ == "__main__":
    main(sys.argv)
