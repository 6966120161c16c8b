"""Side-by-side benchmarks: mmattr, Captum and the floor (the bare model passes a method needs)."""
