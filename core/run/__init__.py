"""A run folder and the steps that fill it: RunFolder (folder), train, encode, evaluate."""
