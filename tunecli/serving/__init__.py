"""The model that ships: the network with the search's preprocessing inside, and what it is (its metadata)."""
