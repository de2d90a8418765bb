import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "A run's checkpoint retention (keepCheckpoints); 0 is no such rule" })
export class KeepCheckpoints {
  @Field(() => Int, { description: "The newest N are kept" })
  last!: number;

  @Field(() => Int, { description: "Those whose iteration is a multiple of K are kept too" })
  every!: number;
}
