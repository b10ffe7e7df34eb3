"""Feature spaces: the networks metrics look through (Inception, DINOv2, CLIP, VGG16) behind one interface.

`spaces` (the registry) and `views` import no torch; `registry.build_extractor` builds a network.
"""
