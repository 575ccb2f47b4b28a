"""gapbench: when does an architectural change matter in scientific ML?"""

__version__ = "0.1.0"
