/**
 * A hand-written labeled set for the classifier: varied messages with the
 * task type and complexity a careful person would assign. Complexity:
 * simple = one fact or one small action; moderate = a bounded piece of
 * work or some reasoning; complex = multi-step work, design, or deep study.
 * Used by test/routing/classifier.test.ts and bench/classifier-accuracy.ts.
 */
import type { Attachment, Complexity, TaskType } from '../../src/routing/types.ts';

export interface LabeledMessage {
  text: string;
  taskType: TaskType;
  complexity: Complexity;
  attachments?: Attachment[];
}

const LONG_ARTICLE = Array.from({ length: 40 }, (_, i) =>
  `Paragraph ${i + 1}. The city council met on Tuesday to discuss the new transit plan, which would add three bus lines, extend the tram north of the river and raise parking fees in the centre. Supporters said it would cut commute times; opponents worried about the cost to small shops.`,
).join('\n\n');

const TRACE = `TypeError: Cannot read properties of undefined (reading 'map')
    at renderList (src/components/List.tsx:42:17)
    at processChild (node_modules/react-dom/cjs/react-dom-server.node.development.js:3990:14)`;

export const LABELED_MESSAGES: LabeledMessage[] = [
  // coding
  { text: 'Write a Python function that checks whether a string is a palindrome.', taskType: 'coding', complexity: 'simple' },
  { text: 'Fix this:\n```js\nconst xs = [1,2,3]\nxs.forEach(x => { return x * 2 })\nconsole.log(xs.map)\n```\nit prints undefined', taskType: 'coding', complexity: 'simple' },
  { text: `I get this when loading the page:\n${TRACE}\nWhat am I doing wrong?`, taskType: 'coding', complexity: 'moderate' },
  { text: 'Refactor the UserService class in src/users/service.ts so the database calls go through a repository interface, and add unit tests for the new repository with vitest.', taskType: 'coding', complexity: 'complex' },
  { text: 'Design and implement a rate limiter in Go for a distributed API gateway: token bucket per tenant, state in Redis, graceful degradation when Redis is down, with benchmarks and tests.', taskType: 'coding', complexity: 'complex' },
  { text: 'how do I reverse a list in rust', taskType: 'coding', complexity: 'simple' },
  { text: 'Write a SQL query that returns the top 5 customers by total order value in 2024.', taskType: 'coding', complexity: 'simple' },
  { text: 'My Dockerfile builds but the container exits immediately with code 137. Here is the compose file:\n```yaml\nservices:\n  api:\n    build: .\n    mem_limit: 128m\n```', taskType: 'coding', complexity: 'moderate' },
  { text: 'Convert this bash script to a Node.js script:\n```bash\nfor f in *.png; do convert "$f" "${f%.png}.jpg"; done\n```', taskType: 'coding', complexity: 'simple' },
  { text: 'Implement a React hook useDebounce(value, delay) in TypeScript.', taskType: 'coding', complexity: 'simple' },
  { text: 'Our Postgres query planner picks a sequential scan on the orders table even though there is an index on customer_id. Explain why and how to fix the query or the index.', taskType: 'coding', complexity: 'moderate' },
  { text: 'Write a regex that matches ISO 8601 dates like 2024-03-15.', taskType: 'coding', complexity: 'simple' },
  { text: 'Build a complete CLI tool in Rust that syncs a local folder to S3: incremental uploads by checksum, parallel transfers, retry with backoff, a dry-run flag and integration tests against MinIO.', taskType: 'coding', complexity: 'complex' },
  { text: 'Why does this segfault?\n```c\nchar *s = "hello";\ns[0] = \'H\';\n```', taskType: 'coding', complexity: 'simple' },
  { text: 'Add pagination to the GET /api/orders endpoint in our Express app; it currently returns every row.', taskType: 'coding', complexity: 'moderate' },
  { text: 'Migrate our webpack config to vite; we use module federation, three entry points and a custom loader for .graphql files.', taskType: 'coding', complexity: 'complex' },
  { text: 'git says "fatal: refusing to merge unrelated histories", what do I do', taskType: 'coding', complexity: 'simple' },
  { text: 'Write unit tests for this function:\n```python\ndef parse_price(s):\n    return float(s.replace("$", "").replace(",", ""))\n```', taskType: 'coding', complexity: 'moderate' },
  { text: 'Debug: Traceback (most recent call last):\n  File "app.py", line 12, in <module>\n    import pandas as pd\nModuleNotFoundError: No module named \'pandas\'', taskType: 'coding', complexity: 'simple' },
  { text: 'Please review main.go and handlers.go for race conditions; the server sometimes returns stale data under load.', taskType: 'coding', complexity: 'moderate', attachments: [{ name: 'main.go', mimeType: 'text/x-go', sizeBytes: 4000 }, { name: 'handlers.go', mimeType: 'text/x-go', sizeBytes: 9000 }] },
  { text: 'Create a Kubernetes deployment yaml for a Node app with 3 replicas, a readiness probe on /healthz and resource limits.', taskType: 'coding', complexity: 'moderate' },

  // research
  { text: 'Research the current state of solid-state batteries for electric cars: which companies are closest to production, and what do recent studies say about energy density and cost?', taskType: 'research', complexity: 'complex' },
  { text: 'Find recent peer-reviewed studies on intermittent fasting and longevity and tell me what the evidence shows.', taskType: 'research', complexity: 'complex' },
  { text: 'What does the literature say about the effect of class size on student achievement?', taskType: 'research', complexity: 'moderate' },
  { text: 'Look up the latest papers on retrieval-augmented generation and list the main approaches with citations.', taskType: 'research', complexity: 'complex' },
  { text: 'I need sources on the history of the printing press in Korea before Gutenberg.', taskType: 'research', complexity: 'moderate' },
  { text: 'Investigate which open-source vector databases are used in production at scale and what their users report about reliability.', taskType: 'research', complexity: 'complex' },
  { text: 'Gather evidence for and against a four-day work week from trials in the UK, Iceland and Japan, with sources.', taskType: 'research', complexity: 'complex' },
  { text: 'Can you find out who holds the patents on CRISPR-Cas9 and how the dispute was settled?', taskType: 'research', complexity: 'moderate' },
  { text: 'Do a literature review of microplastics in drinking water: measured concentrations, health effects, and gaps in the research.', taskType: 'research', complexity: 'complex' },
  { text: 'Search for recent benchmarks comparing Postgres and MySQL write throughput.', taskType: 'research', complexity: 'moderate' },
  { text: 'Compile a list of studies on remote work productivity published since 2020, with their sample sizes.', taskType: 'research', complexity: 'complex' },
  { text: 'What is the scientific consensus on the health effects of moderate coffee consumption? Please cite studies.', taskType: 'research', complexity: 'moderate' },
  { text: 'Survey the market for home heat pumps in Germany: main vendors, subsidies, and typical installation costs.', taskType: 'research', complexity: 'complex' },
  { text: 'Find sources about the origins of the phrase "the whole nine yards".', taskType: 'research', complexity: 'simple' },
  { text: 'Research how other countries regulate e-scooter rentals and summarize what worked, with references.', taskType: 'research', complexity: 'complex' },
  { text: 'Look into the state of the art in protein structure prediction after AlphaFold 2.', taskType: 'research', complexity: 'complex' },
  { text: 'Which clinical trials are currently testing GLP-1 drugs for Alzheimer\'s disease?', taskType: 'research', complexity: 'moderate' },
  { text: 'Dig up what is known about the Voynich manuscript\'s carbon dating and the main decipherment attempts.', taskType: 'research', complexity: 'moderate' },

  // summarization
  { text: `Summarize this article in three bullet points:\n\n${LONG_ARTICLE}`, taskType: 'summarization', complexity: 'moderate' },
  { text: 'tl;dr please: The meeting covered the Q3 roadmap. We agreed to delay the mobile launch by two weeks because QA found crash bugs on older Android phones, and marketing will move the campaign accordingly.', taskType: 'summarization', complexity: 'simple' },
  { text: 'Can you give me a short summary of the attached report?', taskType: 'summarization', complexity: 'moderate', attachments: [{ name: 'annual-report-2024.pdf', mimeType: 'application/pdf', sizeBytes: 800_000 }] },
  { text: 'Summarize the key points of this email thread for my manager:\n\nFrom: Ana\nWe need the budget by Friday.\n\nFrom: Ben\nFinance says Monday at the earliest.\n\nFrom: Ana\nThen we slip the vendor deadline; I will tell them.', taskType: 'summarization', complexity: 'simple' },
  { text: 'Condense these meeting notes into action items with owners:\n- Ravi to update the pricing page\n- discussed churn numbers, up 2%\n- Lea will call the three biggest accounts\n- next sync Thursday', taskType: 'summarization', complexity: 'simple' },
  { text: 'Give me a one-paragraph recap of the plot of Hamlet.', taskType: 'summarization', complexity: 'simple' },
  { text: `Please summarize this transcript, then list every decision and every open question separately:\n\n${LONG_ARTICLE}`, taskType: 'summarization', complexity: 'complex' },
  { text: 'Boil this down to one sentence: "Despite record revenue, the company cut 5% of staff, citing slower growth in its cloud division and rising interest costs."', taskType: 'summarization', complexity: 'simple' },
  { text: 'Summarise the chapters of the attached book, one paragraph per chapter, and finish with the main themes.', taskType: 'summarization', complexity: 'complex', attachments: [{ name: 'novel.epub', mimeType: 'application/epub+zip', sizeBytes: 600_000 }] },
  { text: 'What are the main takeaways from this paper abstract? "We show that sparse mixture-of-experts models reach the quality of dense models at a third of the training compute, and that routing collapse can be prevented with an auxiliary balancing loss."', taskType: 'summarization', complexity: 'simple' },
  { text: 'Summarize the changes in this changelog for end users, skipping internal refactors:\n- fix: crash on empty cart\n- refactor: split OrderService\n- feat: dark mode\n- chore: bump deps\n- feat: export to CSV', taskType: 'summarization', complexity: 'simple' },
  { text: 'Shorten this paragraph to half its length without losing the facts: Our team spent the last quarter rebuilding the onboarding flow. We interviewed twenty customers, found that most dropped off at the payment step, and redesigned it so that payment comes after the first project is created. Conversion rose from 12% to 19%.', taskType: 'summarization', complexity: 'simple' },
  { text: 'I pasted the minutes of our last five board meetings below. Summarize how the discussion about the acquisition evolved across the meetings and what remains unresolved.\n\n' + LONG_ARTICLE, taskType: 'summarization', complexity: 'complex' },
  { text: 'summary of this pls', taskType: 'summarization', complexity: 'simple', attachments: [{ name: 'notes.txt', mimeType: 'text/plain', sizeBytes: 3000 }] },
  { text: 'Give me the gist of the Treaty of Westphalia in a few sentences.', taskType: 'summarization', complexity: 'simple' },
  { text: 'Create an executive summary of the attached 40-page market study with the five most important numbers.', taskType: 'summarization', complexity: 'moderate', attachments: [{ name: 'market-study.pdf', mimeType: 'application/pdf', sizeBytes: 2_400_000 }] },
  { text: 'Recap what we discussed in this conversation so far.', taskType: 'summarization', complexity: 'simple' },
  { text: 'Summarize the following customer reviews into pros and cons:\n"Battery lasts forever" "Screen scratches easily" "Great value" "Support never answered" "Fast charging is great"', taskType: 'summarization', complexity: 'moderate' },

  // qa
  { text: 'What is the capital of Australia?', taskType: 'qa', complexity: 'simple' },
  { text: 'How many ounces are in a pound?', taskType: 'qa', complexity: 'simple' },
  { text: 'Who wrote "One Hundred Years of Solitude"?', taskType: 'qa', complexity: 'simple' },
  { text: 'Why is the sky blue?', taskType: 'qa', complexity: 'simple' },
  { text: 'When did the Berlin Wall fall?', taskType: 'qa', complexity: 'simple' },
  { text: 'What\'s the difference between a virus and a bacterium?', taskType: 'qa', complexity: 'moderate' },
  { text: 'How does a mortgage offset account work, and is it better than making extra repayments?', taskType: 'qa', complexity: 'moderate' },
  { text: 'Is it safe to eat raw cookie dough?', taskType: 'qa', complexity: 'simple' },
  { text: 'What does "idempotent" mean?', taskType: 'qa', complexity: 'simple' },
  { text: 'How do vaccines train the immune system?', taskType: 'qa', complexity: 'moderate' },
  { text: 'Which planet has the most moons?', taskType: 'qa', complexity: 'simple' },
  { text: 'Can I freeze cooked rice?', taskType: 'qa', complexity: 'simple' },
  { text: 'What causes inflation, and why do central banks raise interest rates to fight it?', taskType: 'qa', complexity: 'moderate' },
  { text: 'How long should I boil an egg for a runny yolk?', taskType: 'qa', complexity: 'simple' },
  { text: 'Explain how public-key cryptography lets two strangers agree on a secret over an open channel.', taskType: 'qa', complexity: 'moderate' },
  { text: 'Define photosynthesis.', taskType: 'qa', complexity: 'simple' },
  { text: 'What time zone is Chicago in?', taskType: 'qa', complexity: 'simple' },
  { text: 'Do I need a visa to visit Japan with a Canadian passport?', taskType: 'qa', complexity: 'simple' },
  { text: 'What is the boiling point of water at the top of Mount Everest and why is it lower?', taskType: 'qa', complexity: 'moderate' },
  { text: 'how tall is the eiffel tower', taskType: 'qa', complexity: 'simple' },
  { text: 'Explain the theory of general relativity, how it differs from Newtonian gravity, and the main experimental evidence for it.', taskType: 'qa', complexity: 'complex' },
  { text: 'Is a tomato a fruit or a vegetable?', taskType: 'qa', complexity: 'simple' },

  // conversation
  { text: 'Hi there!', taskType: 'conversation', complexity: 'simple' },
  { text: 'Good morning, how are you today?', taskType: 'conversation', complexity: 'simple' },
  { text: 'Thanks, that was really helpful.', taskType: 'conversation', complexity: 'simple' },
  { text: 'lol that is hilarious', taskType: 'conversation', complexity: 'simple' },
  { text: 'I had a rough day at work and just want to vent for a minute.', taskType: 'conversation', complexity: 'simple' },
  { text: 'hey', taskType: 'conversation', complexity: 'simple' },
  { text: 'Ok cool, talk later', taskType: 'conversation', complexity: 'simple' },
  { text: 'I just got back from a trip to Lisbon, the food was amazing.', taskType: 'conversation', complexity: 'simple' },
  { text: 'Nice, thank you!', taskType: 'conversation', complexity: 'simple' },
  { text: 'What have you been up to?', taskType: 'conversation', complexity: 'simple' },
  { text: 'I feel a bit anxious about my exam tomorrow, can we just chat?', taskType: 'conversation', complexity: 'simple' },
  { text: 'Good night!', taskType: 'conversation', complexity: 'simple' },
  { text: 'You are pretty funny for a bot.', taskType: 'conversation', complexity: 'simple' },
  { text: 'My cat just knocked my coffee off the desk again.', taskType: 'conversation', complexity: 'simple' },
  { text: 'Sorry, I did not mean to be rude earlier.', taskType: 'conversation', complexity: 'simple' },
  { text: 'I have been thinking about whether I should move to a new city next year. I like my job, but I feel stuck socially and most of my friends have left. Can we talk it through?', taskType: 'conversation', complexity: 'moderate' },
  { text: 'yo whats up', taskType: 'conversation', complexity: 'simple' },
  { text: 'Happy Friday everyone 🎉', taskType: 'conversation', complexity: 'simple' },
  { text: 'Let\'s just chat for a bit, I\'m bored.', taskType: 'conversation', complexity: 'simple' },

  // creative
  { text: 'Write a haiku about autumn rain.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a short story about a lighthouse keeper who finds a message in a bottle, about 500 words.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Give me 10 catchy names for a coffee shop that also sells books.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a limerick about a programmer who never sleeps.', taskType: 'creative', complexity: 'simple' },
  { text: 'Compose song lyrics for a breakup song in the style of 80s synth-pop, with a chorus and two verses.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Write the opening chapter of a fantasy novel: introduce a young cartographer, a kingdom whose maps keep changing, and a mystery that sets the plot in motion. Keep a consistent voice and end on a hook.', taskType: 'creative', complexity: 'complex' },
  { text: 'Come up with a slogan for a bike repair shop.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a poem for my grandmother\'s 90th birthday, warm and a little funny.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Imagine a world where plants can talk. Describe a day in a city there.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Write a screenplay scene where two old friends meet at a train station after twenty years.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Brainstorm fun team names for a company trivia night.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a bedtime story for a 5-year-old about a brave little turtle.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Create a tagline for our new eco-friendly sneakers.', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a sonnet about the sea in iambic pentameter.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Develop a detailed world for a tabletop RPG campaign: three factions with histories and goals, a magic system with costs, a map of five regions, and plot hooks for the first three sessions.', taskType: 'creative', complexity: 'complex' },
  { text: 'Write a funny toast for my brother\'s wedding, he loves fishing and bad puns.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Make up a riddle whose answer is "shadow".', taskType: 'creative', complexity: 'simple' },
  { text: 'Write a product description for a handmade ceramic mug that sounds poetic but not cheesy.', taskType: 'creative', complexity: 'simple' },
  { text: 'Invent a new board game for four players: rules, components, how to win, and a sample turn.', taskType: 'creative', complexity: 'complex' },

  // analysis
  { text: 'Analyze the pros and cons of moving our monolith to microservices for a team of six engineers.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Compare renting versus buying a flat in Munich over ten years, given a 4% mortgage rate, 2% rent increases and a 5% return on invested savings.', taskType: 'analysis', complexity: 'complex' },
  { text: 'Here are our monthly signups: Jan 120, Feb 135, Mar 90, Apr 160, May 210. What trend do you see and what might explain the March dip?', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Evaluate this business plan for a meal-kit startup and point out the biggest risks.', taskType: 'analysis', complexity: 'complex', attachments: [{ name: 'business-plan.pdf', mimeType: 'application/pdf', sizeBytes: 500_000 }] },
  { text: 'Do a SWOT analysis of Spotify.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Critique the argument in this op-ed: "Because crime fell after the new police chief arrived, his policies must have worked."', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Assess the trade-offs between PostgreSQL and DynamoDB for a multi-tenant SaaS with unpredictable traffic, considering cost, consistency, operational burden and migration risk.', taskType: 'analysis', complexity: 'complex' },
  { text: 'Interpret these A/B test results: variant B had 4.1% conversion on 12,000 visitors, control 3.8% on 11,500. Is it significant?', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Which of these two job offers is better? A: 85k, remote, small startup. B: 78k, hybrid, large company with pension.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Analyze the root cause of our outage from this timeline: 09:02 deploy, 09:05 error rate up, 09:07 database CPU 100%, 09:15 rollback, 09:20 recovery.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Break down the main causes of the 2008 financial crisis and evaluate which regulatory changes since then address them.', taskType: 'analysis', complexity: 'complex' },
  { text: 'Analyze the themes of power and guilt in Macbeth.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Look at this spreadsheet of expenses and tell me where we are overspending.', taskType: 'analysis', complexity: 'moderate', attachments: [{ name: 'expenses.csv', mimeType: 'text/csv', sizeBytes: 40_000 }] },
  { text: 'Evaluate the strengths and weaknesses of my essay\'s argument structure.', taskType: 'analysis', complexity: 'moderate', attachments: [{ name: 'essay.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', sizeBytes: 30_000 }] },
  { text: 'Is it worth upgrading from an M1 to an M3 MacBook for video editing? Weigh cost against performance gains.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Perform a competitive analysis of the top five project management tools: pricing, target customers, differentiators, and where the gaps in the market are.', taskType: 'analysis', complexity: 'complex' },
  { text: 'What are the implications of raising our price from $10 to $12 if churn rises from 3% to 4% per month?', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Assess the risks in this contract clause: "The supplier may change prices at any time with 7 days notice."', taskType: 'analysis', complexity: 'simple' },

  // translation
  { text: 'Translate "Where is the train station?" into German.', taskType: 'translation', complexity: 'simple' },
  { text: 'How do you say "thank you very much" in Japanese?', taskType: 'translation', complexity: 'simple' },
  { text: 'Translate this paragraph to Spanish, keeping the formal tone: We regret to inform you that your application could not be processed because required documents were missing. Please resubmit them within 14 days.', taskType: 'translation', complexity: 'moderate' },
  { text: 'What does "je ne sais quoi" mean in English?', taskType: 'translation', complexity: 'simple' },
  { text: 'Traduce al inglés: "El perro corre por el parque todas las mañanas."', taskType: 'translation', complexity: 'simple' },
  { text: 'Translate the attached user manual from English to French, keeping the headings and the table layout.', taskType: 'translation', complexity: 'complex', attachments: [{ name: 'manual.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', sizeBytes: 300_000 }] },
  { text: 'Please translate into Italian: "The meeting is moved to Thursday at 3 pm."', taskType: 'translation', complexity: 'simple' },
  { text: 'Übersetze bitte ins Englische: "Ich habe morgen keine Zeit, aber am Wochenende gerne."', taskType: 'translation', complexity: 'simple' },
  { text: 'Localize these UI strings into Brazilian Portuguese: "Sign in", "Forgot password?", "Save changes", "Your cart is empty".', taskType: 'translation', complexity: 'moderate' },
  { text: 'Translate this poem into French and keep the rhyme scheme:\nThe woods are lovely, dark and deep,\nBut I have promises to keep,\nAnd miles to go before I sleep.', taskType: 'translation', complexity: 'complex' },
  { text: '这句话是什么意思：“学而不思则罔”? Translate it to English.', taskType: 'translation', complexity: 'simple' },
  { text: 'Translate our privacy policy into Dutch and German; legal terms must be accurate for the EU.', taskType: 'translation', complexity: 'complex', attachments: [{ name: 'privacy-policy.md', mimeType: 'text/markdown', sizeBytes: 25_000 }] },
  { text: 'What is the English word for "Schadenfreude"?', taskType: 'translation', complexity: 'simple' },
  { text: 'Can you translate this menu item to English: "Cordero asado con romero y patatas panaderas"', taskType: 'translation', complexity: 'simple' },
  { text: 'Translate my cover letter into Korean, formal register.', taskType: 'translation', complexity: 'moderate', attachments: [{ name: 'cover-letter.txt', mimeType: 'text/plain', sizeBytes: 3000 }] },
  { text: 'in swedish please: "happy birthday, I hope all your wishes come true"', taskType: 'translation', complexity: 'simple' },

  // more, mixed and harder cases
  { text: 'What is a closure in JavaScript?', taskType: 'coding', complexity: 'simple' },
  { text: 'Explain the difference between TCP and UDP.', taskType: 'qa', complexity: 'moderate' },
  { text: 'What is this a picture of?', taskType: 'qa', complexity: 'simple', attachments: [{ name: 'photo.jpg', mimeType: 'image/jpeg', sizeBytes: 1_200_000 }] },
  { text: 'Here is a screenshot of the error I get when I run npm install, what should I do?', taskType: 'coding', complexity: 'simple', attachments: [{ name: 'screenshot.png', mimeType: 'image/png', sizeBytes: 300_000 }] },
  { text: 'Describe what is going on in this chart and what it says about our sales.', taskType: 'analysis', complexity: 'moderate', attachments: [{ name: 'sales-chart.png', mimeType: 'image/png', sizeBytes: 200_000 }] },
  { text: 'Write a cover letter for a junior data analyst position at a hospital.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Remember that my daughter\'s birthday is on May 3rd.', taskType: 'conversation', complexity: 'simple' },
  { text: 'Summarize https://example.com/blog/why-we-moved-to-rust for me', taskType: 'summarization', complexity: 'simple' },
  { text: 'Should I use a hash map or a sorted array for a lookup table of 1,000 entries that rarely changes?', taskType: 'coding', complexity: 'moderate' },
  { text: 'What are the side effects of ibuprofen?', taskType: 'qa', complexity: 'simple' },
  { text: 'Is 2027 a leap year?', taskType: 'qa', complexity: 'simple' },
  { text: 'Plan a 5-day itinerary for Kyoto in autumn for two people who love gardens and food, on a mid-range budget.', taskType: 'creative', complexity: 'moderate' },
  { text: 'Optimize this function, it is too slow on large inputs:\n```python\ndef dedupe(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n            out.append(x)\n    return out\n```', taskType: 'coding', complexity: 'simple' },
  { text: 'Explain quantum entanglement like I\'m five.', taskType: 'qa', complexity: 'simple' },
  { text: 'Compare Python and Go for writing a web scraper.', taskType: 'analysis', complexity: 'moderate' },
  { text: 'Proofread this and fix the grammar: "Me and him goes to the store yesterday and buyed three apple."', taskType: 'creative', complexity: 'simple' },
  { text: 'Rewrite this email so it sounds more polite: "Send me the report now, it is late."', taskType: 'creative', complexity: 'simple' },
];
