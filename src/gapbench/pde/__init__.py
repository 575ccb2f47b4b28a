"""Part II data: Dedalus simulation of KS and 2D NS, observation, Zarr stores."""
