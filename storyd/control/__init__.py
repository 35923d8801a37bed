"""The Unix-socket control protocol, its server and the storyctl client."""
