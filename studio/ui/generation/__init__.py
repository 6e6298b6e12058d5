"""Generation settings and progress: model, sampler, size, hires fix, Generate."""
