"""From a trained design to other tools: its stored network (:mod:`.weights`), re-evaluation
(:mod:`.evaluate`), NIR graphs (:mod:`.nir`) and plain torch modules (:mod:`.torch_module`).

Importing this package imports neither torch nor nir: each module loads them when it runs.
"""
