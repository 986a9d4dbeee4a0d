"""Hardware descriptions (loihi1.json, loihi2.json) read by the partition pass."""
