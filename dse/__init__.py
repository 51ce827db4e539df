"""snn-dse: hardware-cost-aware design-space exploration for spiking neural networks.

``dse run studies/quickstart.toml`` runs a study; :func:`dse.query.query` reads
its trials as a pandas DataFrame. The parts follow the data flow: spec -> space
-> study -> engines -> hwmodels -> storage -> query / report.
"""

__version__ = "0.1.0"
