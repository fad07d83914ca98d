"""Capacity and cost model: counted units (:mod:`.units`) and their price (:mod:`.cost`)."""
