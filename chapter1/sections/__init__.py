"""One thin module per notebook: glue between components, theory and the presentation kit."""
