# Model criticism: power-scaling prior sensitivity, the prior-sensitivity figure and
# leave-one-study-out influence refits of the primary model.
