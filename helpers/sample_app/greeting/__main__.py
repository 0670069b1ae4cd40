import sys

from greeting import greet

print(greet(" ".join(sys.argv[1:])))
