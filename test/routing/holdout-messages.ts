/**
 * A second labeled set, written after the classifier was tuned on
 * labeled-messages.ts and never used to tune it: its accuracy is the
 * honest estimate of how the classifier does on messages it has not seen.
 */
import type { LabeledMessage } from './labeled-messages.ts';

export const HOLDOUT_MESSAGES: LabeledMessage[] = [
  { text: 'Write a JavaScript function that groups an array of objects by a key.', taskType: 'coding', complexity: 'simple' },
  { text: 'My Flask app returns 500 on POST /login but works locally. Logs say: sqlalchemy.exc.OperationalError: no such table: users', taskType: 'coding', complexity: 'moderate' },
  { text: 'Set up a CI pipeline in GitHub Actions that runs lint, unit tests and builds a Docker image, pushing it to GHCR only on tags.', taskType: 'coding', complexity: 'moderate' },
  { text: 'Architect a multi-region event sourcing system in Kotlin with exactly-once processing, schema evolution and replay tooling.', taskType: 'coding', complexity: 'complex' },
  { text: 'How do I center a div with flexbox?', taskType: 'coding', complexity: 'simple' },
  { text: 'Why is my useEffect running twice in React 18?', taskType: 'coding', complexity: 'simple' },
  { text: 'Find studies comparing the effectiveness of spaced repetition and massed practice for language learning.', taskType: 'research', complexity: 'moderate' },
  { text: 'Research the environmental impact of lithium mining in South America, with sources from the last five years.', taskType: 'research', complexity: 'complex' },
  { text: 'What does current research say about the link between sleep and memory consolidation?', taskType: 'research', complexity: 'moderate' },
  { text: 'Look up who invented the QR code and when.', taskType: 'research', complexity: 'simple' },
  { text: 'Summarize the plot of The Great Gatsby in five sentences.', taskType: 'summarization', complexity: 'simple' },
  { text: 'tldr of this thread? People argue whether tabs or spaces are better; most agree consistency matters more.', taskType: 'summarization', complexity: 'simple' },
  { text: 'Summarise the attached quarterly report for the board, highlighting risks.', taskType: 'summarization', complexity: 'moderate', attachments: [{ name: 'q3.pdf', mimeType: 'application/pdf', sizeBytes: 900_000 }] },
  { text: 'Condense this into a tweet: We are thrilled to announce that after two years of work our open-source editor now supports real-time collaboration.', taskType: 'summarization', complexity: 'simple' },
  { text: 'What is the population of Canada?', taskType: 'qa', complexity: 'simple' },
  { text: 'How does a heat pump heat a house when it is cold outside?', taskType: 'qa', complexity: 'moderate' },
  { text: 'Who painted the Girl with a Pearl Earring?', taskType: 'qa', complexity: 'simple' },
  { text: 'Is it bad to charge my phone overnight?', taskType: 'qa', complexity: 'simple' },
  { text: 'What is the difference between weather and climate?', taskType: 'qa', complexity: 'moderate' },
  { text: 'hello again', taskType: 'conversation', complexity: 'simple' },
  { text: 'Thank you so much, you saved my afternoon!', taskType: 'conversation', complexity: 'simple' },
  { text: 'I am so tired today, barely slept.', taskType: 'conversation', complexity: 'simple' },
  { text: 'Good evening! Long time no see.', taskType: 'conversation', complexity: 'simple' },
  { text: 'Write a poem about a city at night.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Suggest five names for a golden retriever puppy.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a short mystery story set on a night train, with a twist ending.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Come up with a catchy title for my blog post about minimalism.', taskType: 'creative', complexity: 'simple' },
  { text: 'Analyze the risks of launching our app in the EU without a GDPR review.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Compare the total cost of ownership of an electric car and a petrol car over eight years, including depreciation, insurance, energy and maintenance.', taskType: 'analysis', complexity: 'complex' },
  { text: 'Evaluate whether we should hire a contractor or a full-time engineer for the mobile app.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'What are the pros and cons of nuclear power?', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Translate "good luck with your exam" into French.', taskType: 'translation', complexity: 'simple' },
  { text: 'How do you say "cheers" in Czech?', taskType: 'translation', complexity: 'simple' },
  { text: 'Translate these product descriptions into German and Spanish, keeping the brand voice.', taskType: 'translation', complexity: 'moderate' },
  { text: 'Traduis en anglais : « Le chat dort sur le canapé depuis ce matin. »', taskType: 'translation', complexity: 'simple' },
];
