export { bagOfWordsEmbedder } from "./bag-of-words.ts";
