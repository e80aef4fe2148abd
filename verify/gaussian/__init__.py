"""The Gaussian world: attention on Gaussian measures and mixtures, their dynamics and pushforward laws."""
