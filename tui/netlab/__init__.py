"""The network lab: the note's network trained live (screen), its training job, text and charts."""
