// The served apps and stack live in the test-support lib (the demo and the fault suite use them too).
export { serveBuiltApp, serveStack, WORKSPACE_ROOT, type ServedApp, type ServedStack } from '@nest-redis-otel/testing';
