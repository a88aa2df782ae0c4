"""2-D maps of the latent space: MapProjector (PCA and UMAP, placement of new latents)."""
