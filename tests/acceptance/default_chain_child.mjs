// Run as a child process whose environment holds no access key (only AWS_BEARER_TOKEN_BEDROCK, or
// the container-credentials variables): Converse, and optionally GetCallerIdentity, with the
// SDK's default configuration. Prints {stopReason, outputTokens, arn} as JSON.
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';

const [endpoint, modelId, withSts] = process.argv.slice(2);
const client = new BedrockRuntimeClient({ endpoint, maxAttempts: 1 });
const r = await client.send(new ConverseCommand({
  modelId, messages: [{ role: 'user', content: [{ text: 'Say hello' }] }],
  inferenceConfig: { maxTokens: 4 } }));
const out = { stopReason: r.stopReason, outputTokens: r.usage.outputTokens };
if (withSts === 'sts') {
  out.arn = (await new STSClient({ endpoint, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}))).Arn;
}
console.log(JSON.stringify(out));
