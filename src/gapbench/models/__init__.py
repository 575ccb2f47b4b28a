"""Models: FFNO, MemNO and memory mixers (Part II); node/edge GCNs and DeepSets (Part I)."""
